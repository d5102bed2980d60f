"""The container's HEALTHCHECK: the proxy answers a PostgreSQL SSLRequest on its port.

Exit 0 when the server replies 'S' or 'N' (the protocol loop is up and serving), 1
otherwise. It needs no user or password, so it works whatever [users] holds.
"""

import socket
import struct
import sys

SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def main(host: str = "127.0.0.1", port: str = "6432") -> int:
    try:
        with socket.create_connection((host, int(port)), timeout=3) as conn:
            conn.sendall(SSL_REQUEST)
            return 0 if conn.recv(1) in (b"S", b"N") else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
