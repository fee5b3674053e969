// The NETLINK_ROUTE socket and message helpers of netlink.cc, for the other netlink files
// (netlink_route.cc): one implementation, declared here.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vector>

namespace edgelb {

// A NETLINK_ROUTE socket with short acks and a 5 s receive timeout; -errno on failure.
int NetlinkOpen();
// Send a buffer of messages to the kernel; 0 or -errno.
int NetlinkSend(int fd, const std::vector<uint8_t>& buf);
// Append a message (header + fixed part); returns its offset for NetlinkAttr.
size_t NetlinkBegin(std::vector<uint8_t>* b, uint16_t type, uint16_t flags, uint32_t seq, const void* fixed, size_t fixedLen);
// Append an attribute to the message at offset msg.
void NetlinkAttr(std::vector<uint8_t>* b, size_t msg, uint16_t type, const void* data, size_t len);

}  // namespace edgelb
