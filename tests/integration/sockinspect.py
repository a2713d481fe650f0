"""Looks at the server's end of a TCP connection from outside, through pidfd_getfd(2)."""

import ctypes
import errno
import os
import socket

import pytest

SYS_PIDFD_GETFD = 438  # x86_64 and aarch64 (asm-generic)
libc = ctypes.CDLL(None, use_errno=True)


def _inode_of_server_end(server_port, client_port):
    """The socket inode whose local port is the server's and remote port is the client's."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if (int(local.split(":")[1], 16) == server_port and
                    int(remote.split(":")[1], 16) == client_port):
                return inode
    raise LookupError("connection not found in /proc/net/tcp")


def server_socket(pid, server_port, client_sock):
    """A duplicate of the server process's socket for `client_sock`'s connection."""
    inode = _inode_of_server_end(server_port, client_sock.getsockname()[1])
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target == f"socket:[{inode}]":
            pidfd = os.pidfd_open(pid)
            try:
                fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
                if fd < 0:
                    err = ctypes.get_errno()
                    if err in (errno.EPERM, errno.ENOSYS):  # ptrace policy, or an old kernel
                        pytest.skip(f"pidfd_getfd: {os.strerror(err)}: cannot look at the "
                                    "server's socket options here")
                    raise OSError(err, "pidfd_getfd")
                return socket.socket(fileno=fd)
            finally:
                os.close(pidfd)
    raise LookupError("the server holds no descriptor for the connection")


def nodelay(pid, server_port, client_sock):
    with server_socket(pid, server_port, client_sock) as s:  # our duplicate; the server's stays
        return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
