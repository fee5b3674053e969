// The NETLINK_ROUTE socket, message, batch and result helpers of netlink.cc, for the other netlink
// files (netlink_route.cc): one implementation, declared here.
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <napi.h>
#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <string>
#include <vector>

namespace edgelb {

// One message of an acked batch: the address (or family) it is about and the errno of its ack.
struct NetlinkOp {
  std::string text;  // the address as given (a family name such as "inet" for a per-family message)
  int family = 0;
  uint8_t addr[16] = {0};
  bool del = false;
  int err = 0;  // errno from the kernel's ack
};

// A NETLINK_ROUTE socket with short acks and a 5 s receive timeout; -errno on failure.
int NetlinkOpen();
// NetlinkOpen, or -1 with an Error for "socket(NETLINK_ROUTE)" thrown.
int NetlinkOpenOrThrow(Napi::Env env);
// Send a buffer of messages to the kernel; 0 or -errno.
int NetlinkSend(int fd, const std::vector<uint8_t>& buf);
// Append a message (header + fixed part); returns its offset for NetlinkAttr.
size_t NetlinkBegin(std::vector<uint8_t>* b, uint16_t type, uint16_t flags, uint32_t seq, const void* fixed, size_t fixedLen);
// Append an attribute to the message at offset msg.
void NetlinkAttr(std::vector<uint8_t>* b, size_t msg, uint16_t type, const void* data, size_t len);

// Walk the attributes after a message's fixed part; cb(type, data, len).
template <class F>
void NetlinkForEachAttr(const nlmsghdr* h, size_t fixedLen, F cb) {
  if (h->nlmsg_len < NLMSG_LENGTH(fixedLen)) return;
  const rtattr* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(NLMSG_DATA(h)) + NLMSG_ALIGN(fixedLen));
  int left = (int)h->nlmsg_len - (int)NLMSG_SPACE(fixedLen);
  for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) cb(a->rta_type, RTA_DATA(a), (size_t)RTA_PAYLOAD(a));
}

// Send one message per op, each appended by build(i, &buf) with seq i+1 and NLM_F_ACK, in chunks
// the receive buffer can hold; ops[i].err = the errno of its ack. -errno when the socket fails.
int NetlinkRunAcked(int fd, std::vector<NetlinkOp>* ops, const std::function<void(size_t i, std::vector<uint8_t>* buf)>& build);
// Send the request req and hand every answer with sequence number seq to onMessage until
// NLMSG_DONE or onMessage returns true: 0, the (negative) error of an NLMSG_ERROR answer, or
// -errno when the socket fails.
int NetlinkRequest(int fd, const std::vector<uint8_t>& req, uint32_t seq, const std::function<bool(const nlmsghdr* h)>& onMessage);

// Argument i: an array of IPv4/IPv6 address strings, appended to ops (with del); false after a
// TypeError naming what and the bad element.
bool NetlinkAddressList(const Napi::CallbackInfo& info, size_t i, const char* what, bool del, std::vector<NetlinkOp>* ops);
// The result of a batch: { applied, errors: [{ address, op: addVerb or "delete", errno, code }] }.
Napi::Object NetlinkBatchResult(Napi::Env env, const std::vector<NetlinkOp>& ops, const char* addVerb);

}  // namespace edgelb
