// Interfaces: name <-> ifindex, hardware address and MTU by ioctl, and every interface address
// through getifaddrs (the addon's way to read interfaces; never /sys/class/net).
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "registry.h"
#include "util.h"

namespace edgelb {

static bool IfReq(Napi::Env env, const std::string& name, unsigned long req, ifreq* ifr, const char* op) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    ThrowType(env, "interface name must be 1.." + std::to_string(IFNAMSIZ - 1) + " characters");
    return false;
  }
  memset(ifr, 0, sizeof(*ifr));
  strncpy(ifr->ifr_name, name.c_str(), IFNAMSIZ - 1);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, "socket", errno);
    return false;
  }
  int rc = ioctl(fd, req, ifr);
  int err = errno;
  close(fd);
  if (rc < 0) {
    ThrowErrno(env, std::string(op) + "(" + name + ")", err);
    return false;
  }
  return true;
}

static Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_STRING(info, 0, "name", env.Undefined());
  ifreq ifr;
  if (!IfReq(env, info[0].As<Napi::String>().Utf8Value(), SIOCGIFINDEX, &ifr, "SIOCGIFINDEX")) return env.Undefined();
  return Napi::Number::New(env, ifr.ifr_ifindex);
}

static Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, idx, env.Undefined());
  char buf[IF_NAMESIZE] = {0};
  if (if_indextoname((unsigned)idx, buf) == nullptr) {
    ThrowErrno(env, "if_indextoname", errno);
    return env.Undefined();
  }
  return Napi::String::New(env, buf);
}

static Napi::Value IfHwAddr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_STRING(info, 0, "name", env.Undefined());
  ifreq ifr;
  if (!IfReq(env, info[0].As<Napi::String>().Utf8Value(), SIOCGIFHWADDR, &ifr, "SIOCGIFHWADDR")) return env.Undefined();
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(ifr.ifr_hwaddr.sa_data), 6);
}

static Napi::Value IfMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_STRING(info, 0, "name", env.Undefined());
  ifreq ifr;
  if (!IfReq(env, info[0].As<Napi::String>().Utf8Value(), SIOCGIFMTU, &ifr, "SIOCGIFMTU")) return env.Undefined();
  return Napi::Number::New(env, ifr.ifr_mtu);
}

static int PrefixLen(const sockaddr* mask) {
  if (mask == nullptr) return 0;
  const uint8_t* p;
  size_t n;
  if (mask->sa_family == AF_INET) {
    p = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    n = 4;
  } else if (mask->sa_family == AF_INET6) {
    p = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    n = 16;
  } else {
    return 0;
  }
  int bits = 0;
  for (size_t i = 0; i < n; i++) bits += __builtin_popcount(p[i]);
  return bits;
}

static Napi::Value InterfaceAddresses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    ThrowErrno(env, "getifaddrs", errno);
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    int fam = a->ifa_addr->sa_family;
    if (fam != AF_INET && fam != AF_INET6) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Napi::String::New(env, a->ifa_name));
    o.Set("ifindex", Napi::Number::New(env, if_nametoindex(a->ifa_name)));
    o.Set("family", Napi::Number::New(env, fam == AF_INET ? 4 : 6));
    o.Set("address", Napi::String::New(env, FormatAddress(a->ifa_addr)));
    o.Set("prefixLen", Napi::Number::New(env, PrefixLen(a->ifa_netmask)));
    o.Set("up", Napi::Boolean::New(env, (a->ifa_flags & IFF_UP) != 0));
    if (fam == AF_INET6) {
      o.Set("scopeId", Napi::Number::New(env, reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_scope_id));
    }
    out.Set(i++, o);
  }
  freeifaddrs(list);
  return out;
}

static void InitNetif(Napi::Env env, Napi::Object exports) {
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex, "ifNameToIndex"));
  exports.Set("ifIndexToName", Napi::Function::New(env, IfIndexToName, "ifIndexToName"));
  exports.Set("ifHwAddr", Napi::Function::New(env, IfHwAddr, "ifHwAddr"));
  exports.Set("ifMtu", Napi::Function::New(env, IfMtu, "ifMtu"));
  exports.Set("interfaceAddresses", Napi::Function::New(env, InterfaceAddresses, "interfaceAddresses"));
}

EDGELB_REGISTER(netif, InitNetif);

}  // namespace edgelb
