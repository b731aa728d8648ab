/**
 * For the datapath's kernel tests: a Python script that sends one UDP
 * datagram and prints the echo's size (-1 if none came).
 */

/**
 * argv: destination address, destination port, datagram size, and a source
 * port to bind (optional: the kernel picks one without it); up to 3 tries of
 * 0.5 s.
 */
export const UDP_ECHO_SCRIPT = `
import socket, sys
dst, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if len(sys.argv) > 4:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(sys.argv[4])))
s.settimeout(0.5)
got = -1
for _ in range(3):
    s.sendto(b'e' * size, (dst, port))
    try:
        got = len(s.recvfrom(65535)[0])
        break
    except socket.timeout:
        pass
print(got)
`;
