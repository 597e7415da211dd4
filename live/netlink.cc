#include "live/netlink.h"

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/fifo.h>
#include <netlink/route/qdisc/fq_codel.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>

#include <cstdio>
#include <memory>

namespace linklab::live {

namespace {

// Owners of libnl objects.
struct ObjectFree {
  void operator()(void* o) const { nl_object_put(static_cast<nl_object*>(o)); }
};
template <class T>
using Owned = std::unique_ptr<T, ObjectFree>;
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Cache = std::unique_ptr<nl_cache, CacheFree>;

std::string Reason(int err) {
  err = err < 0 ? -err : err;
  std::string r = nl_geterror(err);
  if (err == NLE_PERM || err == NLE_NOACCESS) {
    r += " (no permission for netlink: run as root or with CAP_NET_ADMIN)";
  }
  return r;
}

void Check(int err, const std::string& what) {
  if (err < 0) throw std::runtime_error("netlink: " + what + ": " + Reason(err));
}

}  // namespace

std::string TcHandleText(uint32_t handle) {
  if (handle == kTcRoot) return "root";
  if (handle == kTcIngress) return "ingress";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%x:%x", handle >> 16, handle & 0xFFFF);
  return buf;
}

Netlink::Netlink() {
  sock_ = nl_socket_alloc();
  if (!sock_) throw std::runtime_error("netlink: cannot allocate a socket");
  const int err = nl_connect(sock_, NETLINK_ROUTE);
  if (err < 0) {
    nl_socket_free(sock_);
    sock_ = nullptr;
    Check(err, "connect");
  }
}

Netlink::~Netlink() {
  if (sock_) nl_socket_free(sock_);
}

int Netlink::IfIndex(const std::string& name) {
  rtnl_link* raw = nullptr;
  const int err = rtnl_link_get_kernel(sock_, 0, name.c_str(), &raw);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return 0;
  Check(err, "reading link " + name);
  Owned<rtnl_link> link(raw);
  return rtnl_link_get_ifindex(link.get());
}

std::string Netlink::Name(int ifindex) {
  char buf[IF_NAMESIZE] = {0};
  if (!if_indextoname(static_cast<unsigned>(ifindex), buf))
    return "ifindex " + std::to_string(ifindex);
  return buf;
}

LinkCounters Netlink::ReadLink(const std::string& name) {
  rtnl_link* raw = nullptr;
  const int err = rtnl_link_get_kernel(sock_, 0, name.c_str(), &raw);
  if (err < 0) Check(err, "reading link " + name);
  Owned<rtnl_link> link(raw);
  LinkCounters c;
  c.rx_bytes = rtnl_link_get_stat(raw, RTNL_LINK_RX_BYTES);
  c.rx_packets = rtnl_link_get_stat(raw, RTNL_LINK_RX_PACKETS);
  c.rx_dropped = rtnl_link_get_stat(raw, RTNL_LINK_RX_DROPPED);
  c.tx_bytes = rtnl_link_get_stat(raw, RTNL_LINK_TX_BYTES);
  c.tx_packets = rtnl_link_get_stat(raw, RTNL_LINK_TX_PACKETS);
  c.tx_dropped = rtnl_link_get_stat(raw, RTNL_LINK_TX_DROPPED);
  c.up = (rtnl_link_get_flags(raw) & IFF_UP) != 0;
  return c;
}

std::vector<QdiscInfo> Netlink::Qdiscs(int ifindex) {
  nl_cache* raw = nullptr;
  const int err = rtnl_qdisc_alloc_cache(sock_, &raw);
  if (err < 0) Check(err, "listing qdiscs of " + Name(ifindex));
  Cache cache(raw);
  std::vector<QdiscInfo> out;
  for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
    rtnl_tc* tc = TC_CAST(o);
    if (rtnl_tc_get_ifindex(tc) != ifindex) continue;
    const char* kind = rtnl_tc_get_kind(tc);
    out.push_back({kind ? kind : "", rtnl_tc_get_handle(tc), rtnl_tc_get_parent(tc)});
  }
  return out;
}

std::map<uint32_t, TcCounters> Netlink::ClassCounters(int ifindex) {
  nl_cache* raw = nullptr;
  const int err = rtnl_class_alloc_cache(sock_, ifindex, &raw);    // per interval: no message
  if (err < 0) Check(err, "reading classes of " + Name(ifindex));  // built unless it failed
  Cache cache(raw);
  std::map<uint32_t, TcCounters> out;
  for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
    rtnl_tc* tc = TC_CAST(o);
    TcCounters c;
    c.bytes = rtnl_tc_get_stat(tc, RTNL_TC_BYTES);
    c.packets = rtnl_tc_get_stat(tc, RTNL_TC_PACKETS);
    c.drops = rtnl_tc_get_stat(tc, RTNL_TC_DROPS);
    c.overlimits = rtnl_tc_get_stat(tc, RTNL_TC_OVERLIMITS);
    c.qlen = rtnl_tc_get_stat(tc, RTNL_TC_QLEN);
    c.backlog_bytes = rtnl_tc_get_stat(tc, RTNL_TC_BACKLOG);
    out[rtnl_tc_get_handle(tc)] = c;
  }
  return out;
}

void Netlink::AddHtbRoot(int ifindex, uint32_t handle, uint32_t default_class, uint32_t r2q) {
  Owned<rtnl_qdisc> q(rtnl_qdisc_alloc());
  rtnl_tc* tc = TC_CAST(q.get());
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_parent(tc, kTcRoot);
  rtnl_tc_set_handle(tc, handle);
  Check(rtnl_tc_set_kind(tc, "htb"), "htb");
  rtnl_htb_set_defcls(q.get(), default_class);
  rtnl_htb_set_rate2quantum(q.get(), r2q);
  const int err = rtnl_qdisc_add(sock_, q.get(), NLM_F_CREATE | NLM_F_REPLACE);
  if (err == -NLE_OPNOTSUPP || err == -NLE_OBJ_NOTFOUND) {
    throw QdiscUnsupported("netlink: this kernel has no htb qdisc (" + Reason(err) + ")");
  }
  Check(err, "adding the htb root qdisc " + TcHandleText(handle) + " on " + Name(ifindex));
}

void Netlink::SetHtbClass(int ifindex, uint32_t parent, uint32_t handle, const HtbClassParams& p,
                          bool create) {
  Owned<rtnl_class> c(rtnl_class_alloc());
  rtnl_tc* tc = TC_CAST(c.get());
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_parent(tc, parent);
  rtnl_tc_set_handle(tc, handle);
  Check(rtnl_tc_set_kind(tc, "htb"), "htb class");
  rtnl_htb_set_rate64(c.get(), p.rate_bps / 8);
  rtnl_htb_set_ceil64(c.get(), p.ceil_bps / 8);
  rtnl_htb_set_prio(c.get(), p.prio);
  if (p.quantum_bytes > 0) rtnl_htb_set_quantum(c.get(), p.quantum_bytes);
  if (p.burst_bytes > 0) rtnl_htb_set_rbuffer(c.get(), p.burst_bytes);
  if (p.cburst_bytes > 0) rtnl_htb_set_cbuffer(c.get(), p.cburst_bytes);
  Check(rtnl_class_add(sock_, c.get(), create ? NLM_F_CREATE | NLM_F_EXCL : 0),
        std::string(create ? "adding" : "changing") + " htb class " + TcHandleText(handle) +
            " on " + Name(ifindex));
}

void Netlink::AddLeaf(int ifindex, uint32_t parent, uint32_t handle, const std::string& kind,
                      uint32_t limit) {
  Owned<rtnl_qdisc> q(rtnl_qdisc_alloc());
  rtnl_tc* tc = TC_CAST(q.get());
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_parent(tc, parent);
  rtnl_tc_set_handle(tc, handle);
  Check(rtnl_tc_set_kind(tc, kind.c_str()), kind);
  if (kind == "pfifo") {
    rtnl_qdisc_fifo_set_limit(q.get(), static_cast<int>(limit));
  } else if (kind == "fq_codel") {
    rtnl_qdisc_fq_codel_set_limit(q.get(), static_cast<int>(limit));
  } else {
    throw std::invalid_argument("netlink: leaf qdisc " + kind + ": only pfifo or fq_codel");
  }
  const int err = rtnl_qdisc_add(sock_, q.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_OPNOTSUPP || err == -NLE_OBJ_NOTFOUND) {
    throw LeafUnsupported("netlink: this kernel has no " + kind + " qdisc (" + Reason(err) + ")");
  }
  Check(err, "adding the " + kind + " leaf " + TcHandleText(handle) + " on " + Name(ifindex));
}

void Netlink::AddIngressQdisc(int ifindex) {
  Owned<rtnl_qdisc> q(rtnl_qdisc_alloc());
  rtnl_tc* tc = TC_CAST(q.get());
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_parent(tc, kTcIngress);
  rtnl_tc_set_handle(tc, TcHandle(0xFFFF, 0));
  Check(rtnl_tc_set_kind(tc, "ingress"), "ingress");
  Check(rtnl_qdisc_add(sock_, q.get(), NLM_F_CREATE | NLM_F_EXCL),
        "adding the ingress qdisc on " + Name(ifindex));
}

void Netlink::AddU32(int ifindex, const U32Filter& f) {
  Owned<rtnl_cls> c(rtnl_cls_alloc());
  rtnl_tc* tc = TC_CAST(c.get());
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_parent(tc, f.parent);
  Check(rtnl_tc_set_kind(tc, "u32"), "u32");
  rtnl_cls_set_prio(c.get(), f.prio);
  rtnl_cls_set_protocol(c.get(), f.ipv6 ? ETH_P_IPV6 : ETH_P_IP);
  const std::string what = "adding a u32 filter on " + Name(ifindex);
  if (f.keys.empty()) {
    Check(rtnl_u32_add_key_uint32(c.get(), 0, 0, 0, 0), what);
  }
  for (const U32Key& k : f.keys) {
    Check(rtnl_u32_add_key_uint32(c.get(), k.value, k.mask, k.offset, 0), what);
  }
  if (f.classid) Check(rtnl_u32_set_classid(c.get(), f.classid), what);
  Check(rtnl_u32_set_cls_terminal(c.get()), what);
  if (f.redirect_ifindex > 0) {
    rtnl_act* act = rtnl_act_alloc();
    if (!act) throw std::runtime_error("netlink: " + what + ": out of memory");
    rtnl_tc_set_kind(TC_CAST(act), "mirred");
    rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
    rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
    rtnl_mirred_set_ifindex(act, static_cast<uint32_t>(f.redirect_ifindex));
    const int err = rtnl_u32_add_action(c.get(), act);
    rtnl_act_put(act);
    Check(err, what);
  }
  Check(rtnl_cls_add(sock_, c.get(), NLM_F_CREATE | NLM_F_EXCL), what);
}

void Netlink::DeleteQdisc(int ifindex, uint32_t parent, uint32_t handle) {
  Owned<rtnl_qdisc> q(rtnl_qdisc_alloc());
  rtnl_tc* tc = TC_CAST(q.get());
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_parent(tc, parent);
  rtnl_tc_set_handle(tc, handle);
  const int err = rtnl_qdisc_delete(sock_, q.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV || err == -NLE_INVAL) return;
  Check(err, "deleting qdisc " + TcHandleText(handle) + " on " + Name(ifindex));
}

int Netlink::AddIfb(const std::string& name) {
  Owned<rtnl_link> link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  Check(rtnl_link_set_type(link.get(), "ifb"), "ifb device type");
  const int err = rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_OPNOTSUPP || err == -NLE_OBJ_NOTFOUND) {
    throw QdiscUnsupported("netlink: this kernel cannot make ifb devices (" + Reason(err) + ")");
  }
  Check(err, "creating ifb device " + name);
  rtnl_link* raw = nullptr;
  Check(rtnl_link_get_kernel(sock_, 0, name.c_str(), &raw), "reading link " + name);
  Owned<rtnl_link> made(raw);
  Owned<rtnl_link> change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  Check(rtnl_link_change(sock_, raw, change.get(), 0), "setting " + name + " up");
  return rtnl_link_get_ifindex(raw);
}

void Netlink::DeleteLink(const std::string& name) {
  Owned<rtnl_link> link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  const int err = rtnl_link_delete(sock_, link.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return;
  Check(err, "deleting device " + name);
}

}  // namespace linklab::live
