# Tries the network while the module is imported (which happens at compile
# time): the test's listener on 127.0.0.1 must see nothing. run_tests.sh
# puts its port in place of @PORT@.
import socket

s = socket.create_connection(("127.0.0.1", @PORT@), timeout=2)
s.sendall(b"escaped")


def execute(input_items, config, context):
    return {"ok": []}
