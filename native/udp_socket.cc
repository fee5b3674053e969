// UDP sockets for BFD (RFC 5881 / 5883): a datagram socket with the options node:dgram cannot set
// before bind: a minimum received TTL / hop limit enforced by a classic BPF socket filter (the
// kernel's IP_MINTTL applies to TCP only; RFC 5881 section 5 drops single-hop packets below 255),
// the sent TTL / hop limit, SO_REUSEADDR and IPV6_V6ONLY. Returns the fd, which node:dgram then
// adopts (`socket.bind({ fd })`) and owns.
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "registry.h"
#include "util.h"

namespace edgelb {

// Accept a datagram only if its IPv4 TTL (network offset 8) or IPv6 hop limit (offset 7) is at
// least minTtl. SKF_NET_OFF addresses the network header from a UDP socket's filter.
static bool AttachMinTtl(Napi::Env env, int fd, int family, int minTtl) {
  sock_filter prog[] = {
      {BPF_LD | BPF_B | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + (family == 4 ? 8 : 7))},
      {BPF_JMP | BPF_JGE | BPF_K, 0, 1, (uint32_t)minTtl},
      {BPF_RET | BPF_K, 0, 0, 0xffffffffu},
      {BPF_RET | BPF_K, 0, 0, 0},
  };
  sock_fprog fp{(unsigned short)(sizeof(prog) / sizeof(prog[0])), prog};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) != 0) {
    ThrowErrno(env, "setsockopt(SO_ATTACH_FILTER)", errno);
    return false;
  }
  return true;
}

// udpSocket({ family: 4|6, bindAddress?, bindPort?, ttl?, minTtl?, reuseAddr? }) -> fd (bound)
static Napi::Value UdpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_OBJECT(info, 0, "options", env.Undefined());
  Napi::Object o = info[0].As<Napi::Object>();
  int64_t family = 4, ttl = 0, minTtl = 0, port = 0;
  bool hasFamily, hasTtl, hasMin, hasPort, hasBind, reuse = false, hasReuse;
  std::string bindAddr;
  if (!OptInt(o, "family", 4, 6, &family, &hasFamily) || !OptInt(o, "ttl", 1, 255, &ttl, &hasTtl) ||
      !OptInt(o, "minTtl", 1, 255, &minTtl, &hasMin) || !OptInt(o, "bindPort", 0, 65535, &port, &hasPort) ||
      !OptString(o, "bindAddress", &bindAddr, &hasBind) || !OptBool(o, "reuseAddr", &reuse, &hasReuse)) {
    return env.Undefined();
  }
  if (family != 4 && family != 6) {
    ThrowRange(env, "family must be 4 or 6");
    return env.Undefined();
  }
  int domain = family == 4 ? AF_INET : AF_INET6;
  sockaddr_storage ss;
  socklen_t sl;
  if (!ParseAddress(hasBind ? bindAddr : (family == 4 ? "0.0.0.0" : "::"), (int)port, domain, &ss, &sl)) {
    ThrowType(env, "bindAddress is not an IPv" + std::to_string(family) + " address: " + bindAddr);
    return env.Undefined();
  }
  int fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    ThrowErrno(env, "socket(UDP)", errno);
    return env.Undefined();
  }
  auto fail = [&]() {
    close(fd);
    return env.Undefined();
  };
  int one = 1;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    ThrowErrno(env, "setsockopt(SO_REUSEADDR)", errno);
    return fail();
  }
  // one family per socket, so the filter reads the right header
  if (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    ThrowErrno(env, "setsockopt(IPV6_V6ONLY)", errno);
    return fail();
  }
  if (hasTtl) {
    int v = (int)ttl;
    int rc = family == 4 ? setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)) : setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v));
    if (rc != 0) {
      ThrowErrno(env, "setsockopt(TTL)", errno);
      return fail();
    }
  }
  if (hasMin && !AttachMinTtl(env, fd, (int)family, (int)minTtl)) return fail();
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sl) != 0) {
    ThrowErrno(env, "bind(UDP " + (hasBind ? bindAddr : std::string("*")) + ":" + std::to_string(port) + ")", errno);
    return fail();
  }
  return Napi::Number::New(env, fd);
}

static void InitUdp(Napi::Env env, Napi::Object exports) { exports.Set("udpSocket", Napi::Function::New(env, UdpSocket, "udpSocket")); }

EDGELB_REGISTER(udp_socket, InitUdp);

}  // namespace edgelb
