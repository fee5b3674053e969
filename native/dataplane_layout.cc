// XDP data path layout: xdpLayout() exports the version, sizes, counter/mode/selection codes and
// defaults of native/bpf/edgelb_shared.h, so TypeScript never keeps a second copy of them (the
// key/value encoders and decoders are in dataplane.cc).
#include "bpf/edgelb_shared.h"
#include "registry.h"
#include "util.h"

namespace edgelb {

namespace {

#define CNT(name) counters.Set(#name, EDGELB_CNT_##name)

Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", EDGELB_LAYOUT_VERSION);
  o.Set("program", EDGELB_PROG_XDP);
  Napi::Object maps = Napi::Object::New(env);
  maps.Set("cfg", EDGELB_MAP_CFG);
  maps.Set("svc", EDGELB_MAP_SVC);
  maps.Set("vips", EDGELB_MAP_VIPS);
  maps.Set("backends", EDGELB_MAP_BACKENDS);
  maps.Set("svcList", EDGELB_MAP_SVC_LIST);
  maps.Set("maglev", EDGELB_MAP_MAGLEV);
  maps.Set("ct4", EDGELB_MAP_CT4);
  maps.Set("ct6", EDGELB_MAP_CT6);
  maps.Set("counters", EDGELB_MAP_COUNTERS);
  maps.Set("svcStats", EDGELB_MAP_SVC_STATS);
  maps.Set("backendStats", EDGELB_MAP_BE_STATS);
  maps.Set("rr", EDGELB_MAP_RR);
  maps.Set("addrf", EDGELB_MAP_ADDRF);
  maps.Set("snatClients", EDGELB_MAP_SNAT_CLIENTS);
  maps.Set("echo", EDGELB_MAP_ECHO);
  maps.Set("frags", EDGELB_MAP_FRAGS);
  maps.Set("scratch", EDGELB_MAP_SCRATCH);
  maps.Set("backendNextHop", EDGELB_MAP_BE_NH);
  maps.Set("ctEvents", EDGELB_MAP_CT_EVENTS);
  maps.Set("bfd", EDGELB_MAP_BFD);
  maps.Set("bfdFrames", EDGELB_MAP_BFD_FRAMES);
  maps.Set("bfdLease", EDGELB_MAP_BFD_LEASE);
  o.Set("maps", maps);
  Napi::Object sizes = Napi::Object::New(env);
  sizes.Set("addr", (uint32_t)sizeof(edgelb_addr));
  sizes.Set("cfg", (uint32_t)sizeof(edgelb_cfg));
  sizes.Set("svcKey", (uint32_t)sizeof(edgelb_svc_key));
  sizes.Set("svc", (uint32_t)sizeof(edgelb_svc));
  sizes.Set("vipKey", (uint32_t)sizeof(edgelb_vip_key));
  sizes.Set("backend", (uint32_t)sizeof(edgelb_backend));
  sizes.Set("ctKey", (uint32_t)sizeof(edgelb_ct_key));
  sizes.Set("ct4Key", (uint32_t)sizeof(edgelb_ct4_key));
  sizes.Set("ct", (uint32_t)sizeof(edgelb_ct));
  sizes.Set("stats", (uint32_t)sizeof(edgelb_stats));
  sizes.Set("nh", (uint32_t)sizeof(edgelb_nh));
  sizes.Set("bfdSess", (uint32_t)sizeof(edgelb_bfd_sess));
  sizes.Set("bfdFrame", (uint32_t)sizeof(edgelb_bfd_frame));
  sizes.Set("bfdLease", (uint32_t)sizeof(edgelb_bfd_lease));
  o.Set("sizes", sizes);
  Napi::Object modes = Napi::Object::New(env);
  modes.Set("dnat", EDGELB_MODE_DNAT);
  modes.Set("onearm", EDGELB_MODE_ONEARM);
  modes.Set("fullnat", EDGELB_MODE_FULLNAT);
  modes.Set("dsr", EDGELB_MODE_DSR);
  o.Set("modes", modes);
  Napi::Object sels = Napi::Object::New(env);
  sels.Set("maglev", EDGELB_SEL_MAGLEV);
  sels.Set("hash", EDGELB_SEL_HASH);
  sels.Set("rr", EDGELB_SEL_RR);
  sels.Set("persist", EDGELB_SEL_PERSIST);
  o.Set("selections", sels);
  Napi::Object counters = Napi::Object::New(env);
  CNT(RX);
  CNT(PASS_NOT_IP);
  CNT(PASS_NOT_VIP);
  CNT(PASS_FRAGMENT);
  CNT(PASS_IP_OPTIONS);
  CNT(PASS_NO_NEIGH);
  CNT(PASS_ROUTE);
  CNT(PASS_TTL);
  CNT(PASS_MALFORMED);
  CNT(TX);
  CNT(REDIRECT);
  CNT(DROP_MALFORMED);
  CNT(DROP_NO_BACKEND);
  CNT(DROP_NAT_PORTS);
  CNT(DROP_FIB);
  CNT(DROP_DSR_OFFLINK);
  CNT(CT_NEW);
  CNT(CT_HIT);
  CNT(CT_EXPIRED);
  CNT(CT_INSERT_FAIL);
  CNT(ICMP_TRANSLATED);
  CNT(PASS_ICMP);
  CNT(CT_REPLY_HIT);
  CNT(PASS_VIP_NO_SVC);
  CNT(CT_NEW_NON_SYN);
  CNT(CT_BACKEND_GONE);
  CNT(PASS_FWD_DISABLED);
  CNT(PASS_FRAG_NEEDED);
  CNT(PASS_NOT_FWDED);
  CNT(DROP_DSR_NO_NEIGH);
  CNT(DROP_CT_STRAY);
  CNT(CT_ESTABLISHED);
  CNT(CT_CLOSING);
  CNT(DROP_SNAT_SHARE);
  CNT(TX_ECHO);
  CNT(DROP_ECHO_RATE);
  CNT(DROP_VIP_NO_SVC);
  CNT(TX_RST);
  CNT(DROP_IP_OPTIONS);
  CNT(DROP_FRAGMENT);
  CNT(PASS_NDP);
  CNT(DROP_VIP_ICMP);
  CNT(FRAG_TRACKED);
  CNT(NH_CACHED);
  CNT(NH_MISS);
  CNT(SYNC_EVENT);
  CNT(SYNC_EVENT_LOST);
  CNT(TX_BFD);
  CNT(PASS_BFD);
  CNT(PASS_BFD_SPENT);
  CNT(FLOW_CACHE_HIT);
  static_assert(EDGELB_CNT_LAST == 50, "list every counter code above");
  o.Set("counters", counters);
  o.Set("counterSlots", EDGELB_CNT_MAX);
  o.Set("svcListMax", EDGELB_SVC_LIST_MAX);
  o.Set("maglevEmpty", (double)EDGELB_MAGLEV_EMPTY);
  o.Set("addrfWords", EDGELB_ADDRF_WORDS);
  o.Set("portRanges", EDGELB_PORT_RANGES);
  o.Set("bfdSessionsMax", EDGELB_BFD_SESSIONS_MAX);
  o.Set("bfdWindowMax", EDGELB_BFD_WINDOW_MAX);
  Napi::Object states = Napi::Object::New(env);
  states.Set("established", EDGELB_CT_ST_ESTABLISHED);
  states.Set("syn", EDGELB_CT_ST_SYN);
  states.Set("synReply", EDGELB_CT_ST_SYN_REPLY);
  states.Set("fin", EDGELB_CT_ST_FIN);
  states.Set("rst", EDGELB_CT_ST_RST);
  o.Set("ctStates", states);
  Napi::Object defaults = Napi::Object::New(env);
  defaults.Set("maxServices", EDGELB_DEFAULT_MAX_SERVICES);
  defaults.Set("maxBackends", EDGELB_DEFAULT_MAX_BACKENDS);
  defaults.Set("maglevSize", EDGELB_DEFAULT_MAGLEV_SIZE);
  defaults.Set("conntrackSize", EDGELB_DEFAULT_CT_SIZE);
  o.Set("defaults", defaults);
  return o;
}

}  // namespace

static void InitDataplaneLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpLayout", Napi::Function::New(env, Layout, "xdpLayout"));
}

EDGELB_REGISTER(dataplane_layout, InitDataplaneLayout);

}  // namespace edgelb
