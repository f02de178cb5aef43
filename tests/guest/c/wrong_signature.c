#include "marie.h"

marie_response *execute(const marie_items *input)
{
    return marie_pushf(marie_ok(), "{\"n\":%zu}", input->count);
}
