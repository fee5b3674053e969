// The conntrackd side of the sync benchmark (bench/sync.ts): a long-lived process in one network
// namespace that talks ctnetlink directly (no libnetfilter_conntrack), so the anchor is driven and
// observed the way bench/lib/sync-node.ts drives and observes edgelb: one process started before
// the runs, per-flow CLOCK_MONOTONIC times in ms. Commands are lines on stdin, answers one JSON
// line on stdout:
//   gen BASE COUNT RATE   sender: create flows BASE..BASE+COUNT-1 in the kernel's conntrack table,
//       each ESTABLISHED + SEEN_REPLY + ASSURED with the onearm translation as kernel NAT (DNAT
//       VIP:80 → backend 10.77.0.3:8080+(g&15), SNAT client → 10.77.0.1:1024+((g>>4)%60000)), at
//       RATE flows/s in 1 ms slices (0: as fast as it goes); answers {"times":[…],"errors":N,
//       "firstError":E}: the time each create request was sent (null: it failed).
//   watch BASE COUNT TIMEOUTMS   receiver: every ms, looks the flows up by their original tuple
//       (IPCTNL_MSG_CT_GET) from the first one not yet seen, stopping at the MISSES-th miss; a flow
//       missed HOLE polls no longer counts and is looked up every HOLE_EVERY polls, so a lost one
//       never blocks those behind it (the same window as sync-node.ts); answers {"seen":[…],"wrongReply":N}: when each appeared
//       (the time the lookup that found it returned; null: never) and how many had a reply tuple
//       without the translation.
// Flow g: client 10.(100+(g>>16)&127).(g>>8).(g) port 40000 → VIP 192.168.80.2:80 (clientOf in
// sync-node.ts). Build: cc -O2 -o ct-probe ct-probe.c (bench/sync.ts does it).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define VIP "192.168.80.2"
#define BACKEND "10.77.0.3"
#define SNAT "10.77.0.1"
/** a poll's lookups from the first unseen flow stop at MISSES misses; a flow missed HOLE polls no
 *  longer counts and is looked up every HOLE_EVERY polls (argv 1–3: sync-node.ts WATCH_*) */
static int MISSES = 16, HOLE = 100, HOLE_EVERY = 10;

static int fd;
static uint32_t seq;
static char rx[1 << 16];

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static void sleep_ms(long ms) {
  struct timespec t = {0, ms * 1000000L};
  nanosleep(&t, NULL);
}
static uint32_t client_of(uint32_t g) {
  return htonl((10u << 24) | ((100u + ((g >> 16) & 0x7f)) << 16) | (((g >> 8) & 255) << 8) | (g & 255));
}
static uint32_t ip(const char *s) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) abort();
  return a.s_addr;
}

// ---- a netlink message builder: attributes appended to one buffer, nests closed by offset
struct msg {
  char buf[1024];
  size_t len;
};
static void put(struct msg *m, uint16_t type, const void *data, uint16_t n) {
  struct nlattr *a = (struct nlattr *)(m->buf + m->len);
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + n;
  memcpy((char *)a + NLA_HDRLEN, data, n);
  m->len += NLA_ALIGN(a->nla_len);
}
static void put8(struct msg *m, uint16_t t, uint8_t v) { put(m, t, &v, 1); }
static void put16(struct msg *m, uint16_t t, uint16_t v) { put(m, t, &v, 2); }
static void put32(struct msg *m, uint16_t t, uint32_t v) { put(m, t, &v, 4); }
static size_t nest(struct msg *m, uint16_t type) {
  size_t at = m->len;
  struct nlattr *a = (struct nlattr *)(m->buf + at);
  a->nla_type = type | NLA_F_NESTED;
  m->len += NLA_HDRLEN;
  return at;
}
static void end(struct msg *m, size_t at) { ((struct nlattr *)(m->buf + at))->nla_len = m->len - at; }
static void start(struct msg *m, uint16_t type, uint16_t flags) {
  memset(m->buf, 0, sizeof m->buf);
  struct nlmsghdr *h = (struct nlmsghdr *)m->buf;
  h->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_seq = ++seq;
  struct nfgenmsg *g = (struct nfgenmsg *)(m->buf + NLMSG_HDRLEN);
  g->nfgen_family = AF_INET;
  g->version = NFNETLINK_V0;
  m->len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *g);
}
static void tuple(struct msg *m, uint16_t type, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  size_t t = nest(m, type);
  size_t i = nest(m, CTA_TUPLE_IP);
  put32(m, CTA_IP_V4_SRC, src);
  put32(m, CTA_IP_V4_DST, dst);
  end(m, i);
  size_t p = nest(m, CTA_TUPLE_PROTO);
  put8(m, CTA_PROTO_NUM, IPPROTO_TCP);
  put16(m, CTA_PROTO_SRC_PORT, htons(sport));
  put16(m, CTA_PROTO_DST_PORT, htons(dport));
  end(m, p);
  end(m, t);
}
static void nat(struct msg *m, uint16_t type, uint32_t addr, uint16_t port) {
  size_t n = nest(m, type);
  put32(m, CTA_NAT_V4_MINIP, addr);
  put32(m, CTA_NAT_V4_MAXIP, addr);
  size_t p = nest(m, CTA_NAT_PROTO);
  put16(m, CTA_PROTONAT_PORT_MIN, htons(port));
  put16(m, CTA_PROTONAT_PORT_MAX, htons(port));
  end(m, p);
  end(m, n);
}
/** Sends m and reads the answer to it: 0 and the message (GET) or the ack, else -errno. */
static int call(struct msg *m, struct nlmsghdr **reply) {
  ((struct nlmsghdr *)m->buf)->nlmsg_len = m->len;
  if (send(fd, m->buf, m->len, 0) < 0) return -errno;
  for (;;) {
    ssize_t n = recv(fd, rx, sizeof rx, 0);
    if (n < 0) return -errno;
    for (struct nlmsghdr *h = (struct nlmsghdr *)rx; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue; // a late answer to an earlier request
      if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (reply) *reply = h;
      return 0;
    }
  }
}

static int create(uint32_t g) {
  struct msg m;
  start(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  uint16_t bport = 8080 + (g & 15), sport = 1024 + ((g >> 4) % 60000);
  tuple(&m, CTA_TUPLE_ORIG, client_of(g), ip(VIP), 40000, 80);
  tuple(&m, CTA_TUPLE_REPLY, ip(BACKEND), ip(SNAT), bport, sport);
  // the kernel marks a conntrack it creates CONFIRMED before reading CTA_STATUS, which must agree
  // (libnetfilter_conntrack, hence `conntrack -I`, adds the bit the same way)
  put32(&m, CTA_STATUS, htonl(IPS_CONFIRMED | IPS_SEEN_REPLY | IPS_ASSURED));
  put32(&m, CTA_TIMEOUT, htonl(300));
  size_t pi = nest(&m, CTA_PROTOINFO);
  size_t tcp = nest(&m, CTA_PROTOINFO_TCP);
  put8(&m, CTA_PROTOINFO_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
  end(&m, tcp);
  end(&m, pi);
  nat(&m, CTA_NAT_DST, ip(BACKEND), bport);
  nat(&m, CTA_NAT_SRC, ip(SNAT), sport);
  return call(&m, NULL);
}

/** Finds attribute `type` among the attributes in [a, a+len). */
static struct nlattr *find(struct nlattr *a, int len, uint16_t type) {
  for (; len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len; len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
    if ((a->nla_type & NLA_TYPE_MASK) == type) return a;
  return NULL;
}
#define INNER(a) ((struct nlattr *)((char *)(a) + NLA_HDRLEN))
#define INLEN(a) ((int)(a)->nla_len - (int)NLA_HDRLEN)

/** 1: flow g is in the table with the translated reply tuple, 2: without it, 0: absent, <0: error */
static int lookup(uint32_t g) {
  struct msg m;
  start(&m, IPCTNL_MSG_CT_GET, 0);
  tuple(&m, CTA_TUPLE_ORIG, client_of(g), ip(VIP), 40000, 80);
  struct nlmsghdr *h;
  int r = call(&m, &h);
  if (r == -ENOENT) return 0;
  if (r < 0) return r;
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
  struct nlattr *rep = find((struct nlattr *)((char *)h + off), h->nlmsg_len - off, CTA_TUPLE_REPLY);
  struct nlattr *tip = rep ? find(INNER(rep), INLEN(rep), CTA_TUPLE_IP) : NULL;
  struct nlattr *src = tip ? find(INNER(tip), INLEN(tip), CTA_IP_V4_SRC) : NULL;
  struct nlattr *dst = tip ? find(INNER(tip), INLEN(tip), CTA_IP_V4_DST) : NULL;
  if (!src || !dst) return 2;
  uint32_t s, d;
  memcpy(&s, INNER(src), 4);
  memcpy(&d, INNER(dst), 4);
  return s == ip(BACKEND) && d == ip(SNAT) ? 1 : 2;
}

static void print_times(const char *name, const double *t, uint32_t n) {
  printf("{\"%s\":[", name);
  for (uint32_t k = 0; k < n; k++) {
    if (t[k] < 0) printf(k ? ",null" : "null");
    else printf(k ? ",%.3f" : "%.3f", t[k]);
  }
  printf("]");
}

int main(int argc, char **argv) {
  if (argc != 4 || (MISSES = atoi(argv[1])) < 1 || (HOLE = atoi(argv[2])) < 1 || (HOLE_EVERY = atoi(argv[3])) < 1)
    return fprintf(stderr, "usage: ct-probe MISSES HOLE HOLE_EVERY (each ≥ 1)\n"), 2;
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return perror("socket"), 1;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return perror("bind"), 1;
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setvbuf(stdout, NULL, _IOFBF, 1 << 20);
  printf("{\"ready\":true}\n");
  fflush(stdout);
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    uint32_t base, count;
    double arg;
    if (sscanf(line, "gen %u %u %lf", &base, &count, &arg) == 3) {
      double *times = malloc(count * sizeof *times);
      uint32_t errors = 0;
      int first = 0;
      double t0 = now_ms();
      for (uint32_t k = 0; k < count;) {
        uint32_t due = arg > 0 ? (uint32_t)((now_ms() - t0) * arg / 1000) + 1 : count;
        if (due > count) due = count;
        for (; k < due; k++) {
          double t = now_ms(); // the kernel holds the entry (and sends its NEW event) after this
          int r = create(base + k);
          times[k] = r == 0 ? t : -1;
          if (r) errors++, first = first ? first : r;
        }
        if (k < count) sleep_ms(1);
      }
      print_times("times", times, count);
      printf(",\"errors\":%u,\"firstError\":%d}\n", errors, first);
      free(times);
    } else if (sscanf(line, "watch %u %u %lf", &base, &count, &arg) == 3) {
      double *seen = malloc(count * sizeof *seen);
      uint32_t *missed = calloc(count, sizeof *missed);
      for (uint32_t k = 0; k < count; k++) seen[k] = -1;
      uint32_t next = 0, left = count, wrong = 0, errors = 0;
      int first = 0;
      double stop = now_ms() + arg;
      for (uint32_t poll = 0; left > 0 && now_ms() < stop; poll++) {
        int misses = 0;
        for (uint32_t k = next; k < count && misses < MISSES; k++) {
          if (seen[k] >= 0) continue;
          int hole = missed[k] >= (uint32_t)HOLE;
          if (hole && poll % HOLE_EVERY != 0) continue;
          int r = lookup(base + k);
          if (r > 0) {
            seen[k] = now_ms(); // present by the time the lookup that found it returned
            left--;
            if (r == 2) wrong++;
          } else {
            missed[k]++;
            if (!hole) misses++;
            if (r < 0) errors++, first = first ? first : r;
          }
        }
        while (next < count && seen[next] >= 0) next++;
        sleep_ms(1);
      }
      print_times("seen", seen, count);
      printf(",\"wrongReply\":%u,\"errors\":%u,\"firstError\":%d}\n", wrong, errors, first);
      free(seen);
      free(missed);
    } else {
      printf("{\"error\":\"unknown command\"}\n");
    }
    fflush(stdout);
  }
  return 0;
}
