/*
 * badexport — a component whose `execute` export is func(x: u32) -> u32
 * (see wit-badexport/) instead of marie:node's signature. Proves that the
 * runtime checks the export's type when loading and refuses the component
 * with a clear message instead of calling it.
 */
#include "node.h"

uint32_t exports_node_execute(uint32_t x)
{
    return x + 1;
}
