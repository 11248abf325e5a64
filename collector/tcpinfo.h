/*  =========================================================================
    tcpinfo - what the kernel says about one TCP connection

    A file of its own because Linux's <linux/tcp.h> (which has
    tcpi_bytes_received, Linux >= 4.1) cannot be included beside glibc's
    <netinet/tcp.h>, which czmq.h includes.
    =========================================================================
*/
#ifndef WQ_TCPINFO_H_INCLUDED
#define WQ_TCPINFO_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

/*  Bytes the kernel has received on TCP socket fd since it was opened
    (TCP_INFO's tcpi_bytes_received) into *out. False if fd is not a TCP
    socket or the kernel does not report it (before Linux 4.1). */
bool wq_tcp_bytes_received(int fd, uint64_t *out);

#endif
