"""What the running kernel offers, for tests whose expectations depend on it."""


def has_send_length():
    """Whether the kernel has the sock:sock_{send,recv}_length tracepoints (Linux 6.3); before
    that (Debian's 6.1) the recorder counts UDP through fexit on inet_*msg."""
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        return b"btf_trace_sock_send_length\0" in f.read()


def release():
    """The running kernel's (major, minor), e.g. (6, 1) in make vmtest's bookworm guest."""
    import os
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)
