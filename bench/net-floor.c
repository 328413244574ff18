// The floor for bench/net.mjs: the same setup as nsbox's, from one C process over raw
// NETLINK_ROUTE sockets, each request answered (ACK) before the next is sent.
// Per iteration: a new network namespace (unshare + open its fd + setns back), a socket in it,
// a veth whose peer is created directly inside (IFLA_NET_NS_FD in VETH_INFO_PEER; one transmit
// and one receive queue at each end, as nsbox's; from 2026-11-30, before that the kernel's
// default, one per possible CPU cut back to one in use), IPv4 on
// both ends, both up, lo up; teardown = close the namespace fd and its socket (the kernel
// destroys the namespace and both veth ends asynchronously).
// Build: cc -O2 -o net-floor net-floor.c ; run as root: ./net-floor N  -> "setup teardown" ms
// per line; ./net-floor serve  -> one iteration per line read from stdin (bench/net.mjs
// interleaves it with the Node rows this way); a line "pre" makes the namespace and its
// socket before the clock starts (the counterpart of a namespace taken from a pool).
// A line "same" (or "same pre") sends exactly connectToHost's requests instead, each
// answered before the next: RTM_NEWLINK with NLM_F_ECHO and the host end created down (the
// echo carries both indexes: no lookup), its IPv6 turned off (/proc/sys/net/ipv6/conf/H/
// disable_ipv6), the host address, its IPv4 settings (rp_filter 1, accept_redirects 0,
// accept_source_route 0: IFLA_AF_SPEC/AF_INET/IFLA_INET_CONF) and then up (src/net/host-end.ts,
// from 2026-11-30; before, the host end was created up and not hardened), then inside lo up,
// eth0 up, its address and the default route via the host address; the end state is
// connectToHost's.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct req {
  char buf[1024];
  size_t len;
};

static void die(const char* what, int err) {
  fprintf(stderr, "net-floor: %s: %s\n", what, strerror(err));
  exit(1);
}

static void *put(struct req *r, size_t n) {
  void *p = r->buf + r->len;
  memset(p, 0, NLMSG_ALIGN(n));
  r->len += NLMSG_ALIGN(n);
  return p;
}

static struct rtattr *attr(struct req *r, int type, const void *data, size_t n) {
  struct rtattr *a = put(r, RTA_LENGTH(n));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(n);
  if (n) memcpy(RTA_DATA(a), data, n);
  return a;
}

static void end(struct req *r, struct rtattr *nest) { nest->rta_len = (char *)(r->buf + r->len) - (char *)nest; }

static struct nlmsghdr *start(struct req *r, int type, int flags) {
  r->len = 0;
  struct nlmsghdr *h = put(r, sizeof *h);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return h;
}

static unsigned seq = 1;
static int echo_index, echo_link;  // what the RTM_NEWLINK echo said (mode "same")

// Sends and waits for the ACK (or the one reply of a GETLINK). Returns the reply's ifindex for GETLINK.
static int talk(int fd, struct req *r) {
  struct nlmsghdr *h = (struct nlmsghdr *)r->buf;
  h->nlmsg_len = r->len;
  h->nlmsg_seq = ++seq;
  if (send(fd, r->buf, r->len, 0) < 0) die("send", errno);
  char in[8192];
  for (;;) {
    ssize_t n = recv(fd, in, sizeof in, 0);
    if (n < 0) die("recv", errno);
    for (struct nlmsghdr *m = (struct nlmsghdr *)in; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
      if (m->nlmsg_seq != seq) continue;
      if (m->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(m);
        if (e->error) die("netlink", -e->error);
        return 0;
      }
      if (m->nlmsg_type == RTM_NEWLINK) {
        struct ifinfomsg *ifi = NLMSG_DATA(m);
        // An echo (NLM_F_ECHO): keep its IFLA_LINK (the veth peer's index) and wait for the ACK.
        if (h->nlmsg_flags & NLM_F_ECHO) {
          int alen = NLMSG_PAYLOAD(m, sizeof *ifi);
          for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
            if (a->rta_type == IFLA_LINK) echo_link = *(int *)RTA_DATA(a);
          echo_index = ifi->ifi_index;
          continue;
        }
        return ifi->ifi_index;
      }
    }
  }
}

static int nl_socket(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) die("socket", errno);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind", errno);
  return fd;
}

static void addr4(int fd, int index, const char *ip, int prefix) {
  struct req r;
  start(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  struct ifaddrmsg *ifa = put(&r, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = prefix;
  ifa->ifa_index = index;
  struct in_addr a;
  inet_pton(AF_INET, ip, &a);
  attr(&r, IFA_LOCAL, &a, 4);
  attr(&r, IFA_ADDRESS, &a, 4);
  talk(fd, &r);
}

static void up(int fd, int index) {
  struct req r;
  start(&r, RTM_NEWLINK, 0);
  struct ifinfomsg *ifi = put(&r, sizeof *ifi);
  ifi->ifi_index = index;
  ifi->ifi_flags = ifi->ifi_change = IFF_UP;
  talk(fd, &r);
}

// The default route inside, via the host end's address (connectToHost adds it too).
static void default_route(int fd, const char *via) {
  struct req r;
  start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  struct rtmsg *rt = put(&r, sizeof *rt);
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  struct in_addr a;
  inet_pton(AF_INET, via, &a);
  attr(&r, RTA_GATEWAY, &a, 4);
  talk(fd, &r);
}

// The host end's IPv4 settings, as connectToHost sends them before bringing it up.
static void harden4(int fd, int index) {
  struct req r;
  start(&r, RTM_NEWLINK, 0);
  struct ifinfomsg *ifi = put(&r, sizeof *ifi);
  ifi->ifi_index = index;
  struct rtattr *spec = attr(&r, IFLA_AF_SPEC, NULL, 0);
  struct rtattr *inet = attr(&r, AF_INET, NULL, 0);
  struct rtattr *conf = attr(&r, IFLA_INET_CONF, NULL, 0);
  unsigned one = 1, zero = 0;
  attr(&r, IPV4_DEVCONF_RP_FILTER, &one, 4);
  attr(&r, IPV4_DEVCONF_ACCEPT_REDIRECTS, &zero, 4);
  attr(&r, IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE, &zero, 4);
  end(&r, conf);
  end(&r, inet);
  end(&r, spec);
  talk(fd, &r);
}

// IPv6 off on the host end (no netlink request sets it).
static void no_ipv6(const char *ifname) {
  char path[96];
  snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open disable_ipv6", errno);
  if (write(fd, "1", 1) != 1) die("write disable_ipv6", errno);
  close(fd);
}

static int index_of(int fd, const char *name) {
  struct req r;
  struct nlmsghdr *h = start(&r, RTM_GETLINK, 0);
  h->nlmsg_flags = NLM_F_REQUEST;
  put(&r, sizeof(struct ifinfomsg));
  attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  return talk(fd, &r);
}

int main(int argc, char **argv) {
  int serve = argc > 1 && strcmp(argv[1], "serve") == 0;
  int n = serve ? 0x7fffffff : argc > 1 ? atoi(argv[1]) : 30;
  setvbuf(stdout, NULL, _IOLBF, 0);
  int host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host_ns < 0) die("open", errno);
  int host = nl_socket();
  char line[64];
  for (int i = 0; i < n; i++) {
    if (serve && !fgets(line, sizeof line, stdin)) break;
    // "pre": the namespace (and its socket) is made before the clock starts, as a pool would
    // have made it; the rest is timed as usual.
    int same = serve && strncmp(line, "same", 4) == 0;
    int pre = serve && strstr(line, "pre") != NULL;
    char hname[IFNAMSIZ];
    snprintf(hname, sizeof hname, "nfl%d_%d", getpid() % 10000, i % 100000);
    struct timespec t0, t1;
    if (!pre) clock_gettime(CLOCK_MONOTONIC, &t0);
    // new netns, its fd and a socket in it; back to the host's
    if (unshare(CLONE_NEWNET) < 0) die("unshare", errno);
    int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int inside = nl_socket();
    if (setns(host_ns, CLONE_NEWNET) < 0) die("setns", errno);
    if (pre) clock_gettime(CLOCK_MONOTONIC, &t0);
    // veth, peer created inside
    struct req r;
    start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | (same ? NLM_F_ECHO : 0));
    put(&r, sizeof(struct ifinfomsg));
    attr(&r, IFLA_IFNAME, hname, strlen(hname) + 1);
    // One transmit and one receive queue at each end, as nsbox asks for (src/net/netlink/rtnl.ts
    // encodeNewLink): without them the kernel makes one per possible CPU and cuts the number in
    // use back to one after registering each end, an RCU grace period per cut.
    int one = 1;
    attr(&r, IFLA_NUM_TX_QUEUES, &one, 4);
    attr(&r, IFLA_NUM_RX_QUEUES, &one, 4);
    struct rtattr *li = attr(&r, IFLA_LINKINFO, NULL, 0);
    attr(&r, IFLA_INFO_KIND, "veth", 4);
    struct rtattr *data = attr(&r, IFLA_INFO_DATA, NULL, 0);
    struct rtattr *peer = attr(&r, VETH_INFO_PEER, NULL, 0);
    put(&r, sizeof(struct ifinfomsg));
    attr(&r, IFLA_IFNAME, "eth0", 5);
    attr(&r, IFLA_NUM_TX_QUEUES, &one, 4);
    attr(&r, IFLA_NUM_RX_QUEUES, &one, 4);
    attr(&r, IFLA_NET_NS_FD, &ns, 4);
    end(&r, peer);
    end(&r, data);
    end(&r, li);
    echo_index = echo_link = 0;
    talk(host, &r);
    if (same) {
      if (echo_index <= 0 || echo_link <= 0) die("no RTM_NEWLINK echo", EPROTO);
      no_ipv6(hname);
      addr4(host, echo_index, "10.231.0.1", 30);
      harden4(host, echo_index);
      up(host, echo_index);
      up(inside, 1);
      up(inside, echo_link);
      addr4(inside, echo_link, "10.231.0.2", 30);
      default_route(inside, "10.231.0.1");
    } else {
      int hi = index_of(host, hname);
      addr4(host, hi, "10.231.0.1", 30);
      up(host, hi);
      int ci = index_of(inside, "eth0");
      addr4(inside, ci, "10.231.0.2", 30);
      up(inside, ci);
      up(inside, 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    // teardown: drop the namespace
    close(inside);
    close(ns);
    struct timespec t2;
    clock_gettime(CLOCK_MONOTONIC, &t2);
    printf("%.4f %.4f\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
           (t2.tv_sec - t1.tv_sec) * 1e3 + (t2.tv_nsec - t1.tv_nsec) / 1e6);
  }
  return 0;
}
