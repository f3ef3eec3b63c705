"""Stands in for systemd's notify socket: binds an AF_UNIX datagram socket and prints each message it
receives on one line (fields joined by '|'). Usage: notify_socket.py PATH"""
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data = s.recv(65536)
    print(data.decode().replace("\n", "|"), flush=True)
