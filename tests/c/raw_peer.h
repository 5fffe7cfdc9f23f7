/*
 * A hand-made WebSocket peer over a plain TCP socket, for what a wss client would hide: the
 * exact HTTP answer to an upgrade (status line, extra headers), a peer that stops reading or
 * answering, and one that sends frames breaking the protocol. Include after check.h (POSIX
 * sockets; every wait bounded with poll).
 */
#ifndef WSS_TEST_RAW_PEER_H
#define WSS_TEST_RAW_PEER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connect to 127.0.0.1:`port`; -1 on failure. */
static inline int raw_connect(uint16_t port) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read into `buf` until it holds the end of an HTTP head ("\r\n\r\n"), `cap` - 1 bytes, EOF or
 * `ms` pass. NUL-terminates; returns the bytes read. */
static inline size_t raw_read_head(int fd, char *buf, size_t cap, unsigned ms) {
    size_t n = 0;
    double until = now_ms() + ms;
    buf[0] = '\0';
    while (n + 1 < cap && strstr(buf, "\r\n\r\n") == NULL) {
        struct pollfd p;
        ssize_t got;
        double left = until - now_ms();
        if (left <= 0) break;
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, (int)left) <= 0) break;
        got = recv(fd, buf + n, 1, 0); /* one byte at a time: stop exactly after the head */
        if (got <= 0) break;
        n += (size_t)got;
        buf[n] = '\0';
    }
    return n;
}

/* Send an upgrade request for `path` with `extra` header lines (each ending "\r\n", or ""), and
 * read the answer's head into `head`. Returns the HTTP status, or -1. */
static inline int raw_upgrade(int fd, const char *path, const char *extra, char *head, size_t cap) {
    char req[1024];
    int status = -1, len;
    len = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n%s\r\n",
                   path, extra);
    if (len <= 0 || (size_t)len >= sizeof req) return -1;
    if (send(fd, req, (size_t)len, 0) != len) return -1;
    if (raw_read_head(fd, head, cap, WAIT_MS) == 0) return -1;
    if (sscanf(head, "HTTP/1.1 %d", &status) != 1) return -1;
    return status;
}

/* Whether the head has the header line `line` (e.g. "X-Extra: yes"), case-sensitive. */
static inline int head_has(const char *head, const char *line) {
    char needle[256];
    snprintf(needle, sizeof needle, "\r\n%s\r\n", line);
    return strstr(head, needle) != NULL;
}

/* Read exactly `n` bytes (bounded by `ms`); 1 on success. */
static inline int raw_read_exact(int fd, unsigned char *buf, size_t n, unsigned ms) {
    size_t got = 0;
    double until = now_ms() + ms;
    while (got < n) {
        struct pollfd p;
        ssize_t r;
        double left = until - now_ms();
        if (left <= 0) return 0;
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, (int)left) <= 0) return 0;
        r = recv(fd, buf + got, n - got, 0);
        if (r <= 0) return 0;
        got += (size_t)r;
    }
    return 1;
}

/* Read one frame from the server (unmasked) and return its first byte (FIN, RSV1-3, opcode;
 * payload skipped, of any length), or -1. */
static inline int raw_read_frame_first(int fd, unsigned ms) {
    unsigned char h[2], ext[8], skip[4096];
    uint64_t len;
    int i;
    if (!raw_read_exact(fd, h, 2, ms)) return -1;
    len = h[1] & 0x7f;
    if (len == 126) {
        if (!raw_read_exact(fd, ext, 2, ms)) return -1;
        len = ((uint64_t)ext[0] << 8) | ext[1];
    } else if (len == 127) {
        if (!raw_read_exact(fd, ext, 8, ms)) return -1;
        for (len = 0, i = 0; i < 8; i++) len = (len << 8) | ext[i];
    }
    while (len > 0) {
        size_t n = len > sizeof skip ? sizeof skip : (size_t)len;
        if (!raw_read_exact(fd, skip, n, ms)) return -1;
        len -= n;
    }
    return h[0];
}

/* Read one frame from the server and return its opcode, or -1. */
static inline int raw_read_frame(int fd, unsigned ms) {
    int first = raw_read_frame_first(fd, ms);
    return first < 0 ? -1 : first & 0x0f;
}

/* Build one client frame in `out` (capacity `cap`): first byte `first` (FIN, RSV1-3, opcode),
 * `len` payload bytes, masked with a fixed key when `masked` (clients must mask; 0 builds the
 * violation). Payloads up to 65535 bytes. Returns the frame's length, or 0 if it does not fit. */
static inline size_t raw_frame(unsigned char *out, size_t cap, unsigned char first,
                               const unsigned char *payload, size_t len, int masked) {
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0, i;
    if (len > 65535u || cap < 2u + 2u + 4u + len) return 0;
    out[n++] = first;
    if (len < 126) {
        out[n++] = (unsigned char)((masked ? 0x80 : 0) | len);
    } else {
        out[n++] = (unsigned char)((masked ? 0x80 : 0) | 126);
        out[n++] = (unsigned char)(len >> 8);
        out[n++] = (unsigned char)(len & 0xff);
    }
    if (masked) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (i = 0; i < len; i++) {
        out[n + i] = masked ? (unsigned char)(payload[i] ^ key[i % 4]) : payload[i];
    }
    return n + len;
}

/* Read one frame from the server (unmasked, payload at most `cap` bytes) into `payload`, its
 * length into *len; returns its first byte, or -1 (also for a longer or masked frame). */
static inline int raw_read_frame_payload(int fd, unsigned char *payload, size_t cap, size_t *len,
                                         unsigned ms) {
    unsigned char h[2], ext[2];
    size_t n;
    if (!raw_read_exact(fd, h, 2, ms) || (h[1] & 0x80)) return -1;
    n = h[1] & 0x7f;
    if (n == 127) return -1;
    if (n == 126) {
        if (!raw_read_exact(fd, ext, 2, ms)) return -1;
        n = ((size_t)ext[0] << 8) | ext[1];
    }
    if (n > cap || (n > 0 && !raw_read_exact(fd, payload, n, ms))) return -1;
    *len = n;
    return h[0];
}

/* Whether the server ends the stream (EOF or reset) within `ms`, sending nothing more. */
static inline int raw_read_eof(int fd, unsigned ms) {
    unsigned char b;
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, (int)ms) <= 0) return 0;
    return recv(fd, &b, 1, 0) <= 0;
}

#endif /* WSS_TEST_RAW_PEER_H */
