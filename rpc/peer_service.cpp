// PeerService: the node's peers, network totals and ban list (docs/api.md, "PeerService").
#include <algorithm>

#include "rpc/services.h"

namespace wattline::rpc {
namespace {

constexpr std::size_t kMaxTargetSize = 300;   // host names are at most 253 characters
constexpr std::size_t kMaxReasonSize = 128;   // net::BanList::kMaxReason
constexpr std::int64_t kMaxBanSeconds = 10LL * 366 * 24 * 3600;

RpcError NoNetwork() {
  return {grpc::StatusCode::FAILED_PRECONDITION,
          "the node runs without the peer-to-peer network (--p2p=0)", ""};
}

bool PrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

RpcError CheckText(const std::string& text, std::string_view field, std::size_t max, bool required) {
  if (required && text.empty()) return Invalid(std::string(field) + ": required");
  if (text.size() > max) {
    return Invalid(std::string(field) + ": at most " + std::to_string(max) + " characters, got " +
                   std::to_string(text.size()));
  }
  if (!PrintableAscii(text)) return Invalid(std::string(field) + ": only printable ASCII characters");
  return {};
}

std::int64_t Micros(const std::optional<std::chrono::microseconds>& d) { return d ? d->count() : 0; }

void BanToProto(const net::BanEntry& ban, v1::BanEntry* out) {
  out->set_subnet(ban.subnet.ToString());
  out->set_reason(ban.reason);
  out->set_created(ban.created);
  out->set_expires(ban.ban_until);
}

}  // namespace

#define RPC_PEERS(ctx, method)                                          \
  RPC_AUTHORIZE(ctx, "PeerService", method);                            \
  PeerControl* peers = m_env.backend.Peers();                           \
  if (peers == nullptr) return Finish(ctx, NoNetwork())

grpc::Status PeerServiceImpl::ListPeers(grpc::ServerContext* ctx, const v1::ListPeersRequest*,
                                        v1::ListPeersResponse* out) {
  RPC_PEERS(ctx, "ListPeers");
  for (const node::PeerDetails& d : peers->PeerList()) {
    const net::PeerInfo& i = d.info;
    v1::Peer* p = out->add_peers();
    p->set_id(i.id);
    p->set_address(i.address.ToString());
    p->set_direction(i.inbound ? v1::PEER_DIRECTION_INBOUND : v1::PEER_DIRECTION_OUTBOUND);
    p->set_connected(i.connected);
    p->set_protocol_version(i.protocol_version);
    p->set_services(i.services);
    p->set_user_agent(i.user_agent);
    p->set_start_height(i.best_height);
    p->set_listen_port(i.listen_port);
    p->set_persistent(d.persistent);
    p->set_synced_headers(d.synced_headers);
    p->set_synced_blocks(d.synced_blocks);
    p->set_blocks_in_flight(d.blocks_in_flight);
    p->set_blocks_received(d.blocks_received);
    p->set_ping_micros(Micros(i.ping));
    p->set_min_ping_micros(Micros(i.min_ping));
    p->set_score(i.score);
    p->set_bytes_sent(i.bytes_sent);
    p->set_bytes_received(i.bytes_received);
    p->set_send_queue_bytes(i.send_queue_bytes);
    p->set_permissions(net::PermissionNames(i.permissions));
  }
  return grpc::Status::OK;
}

grpc::Status PeerServiceImpl::GetNetTotals(grpc::ServerContext* ctx, const v1::GetNetTotalsRequest*,
                                           v1::GetNetTotalsResponse* out) {
  RPC_PEERS(ctx, "GetNetTotals");
  const net::NetTotals totals = peers->Totals();
  out->set_bytes_sent(totals.bytes_sent);
  out->set_bytes_received(totals.bytes_received);
  std::uint32_t inbound = 0, outbound = 0;
  for (const node::PeerDetails& d : peers->PeerList()) ++(d.info.inbound ? inbound : outbound);
  out->set_peers(inbound + outbound);
  out->set_inbound(inbound);
  out->set_outbound(outbound);
  out->set_address_book_size(peers->AddressBookSize());
  out->set_bans(static_cast<std::uint32_t>(peers->Bans().size()));
  out->set_listen_port(peers->ListenPort());
  const node::SyncStatus sync = peers->Sync();
  out->set_best_header_height(sync.best_header_height);
  out->set_tip_height(sync.tip_height);
  out->set_blocks_in_flight(sync.blocks_in_flight);
  out->set_initial_download(sync.initial_download);
  for (const node::AddedPeer& a : peers->AddedPeers()) {
    v1::AddedPeer* p = out->add_added_peers();
    p->set_target(a.target);
    p->set_connected(a.connected);
    p->set_failures(a.failures);
    p->set_next_attempt(a.next_attempt);
  }
  return grpc::Status::OK;
}

grpc::Status PeerServiceImpl::AddPeer(grpc::ServerContext* ctx, const v1::AddPeerRequest* req, v1::AddPeerResponse*) {
  RPC_PEERS(ctx, "AddPeer");
  if (auto e = CheckText(req->target(), "target", kMaxTargetSize, true); !e.ok()) return Finish(ctx, e);
  if (!node::ValidTarget(req->target())) {
    return Finish(ctx, Invalid("target: '" + req->target() + "' is not host:port (1.2.3.4:9733, [::1]:9733, name:9733)"));
  }
  std::string error;
  if (!peers->AddPeer(req->target(), req->persistent(), error)) {
    return Finish(ctx, {grpc::StatusCode::FAILED_PRECONDITION, "cannot connect to " + req->target() + ": " + error, ""});
  }
  return grpc::Status::OK;
}

grpc::Status PeerServiceImpl::RemovePeer(grpc::ServerContext* ctx, const v1::RemovePeerRequest* req,
                                         v1::RemovePeerResponse*) {
  RPC_PEERS(ctx, "RemovePeer");
  if (auto e = CheckText(req->target(), "target", kMaxTargetSize, true); !e.ok()) return Finish(ctx, e);
  if (!peers->RemovePeer(req->target())) {
    return Finish(ctx, NotFound("'" + req->target() + "' is not a persistent peer (--connect, --addnode, AddPeer)"));
  }
  return grpc::Status::OK;
}

grpc::Status PeerServiceImpl::DisconnectPeer(grpc::ServerContext* ctx, const v1::DisconnectPeerRequest* req,
                                             v1::DisconnectPeerResponse* out) {
  RPC_PEERS(ctx, "DisconnectPeer");
  const bool by_id = req->id() != 0;
  if (by_id == !req->address().empty()) return Finish(ctx, Invalid("give exactly one of id and address"));
  if (by_id) {
    if (!peers->DisconnectPeer(req->id())) return Finish(ctx, NotFound("no peer with id " + std::to_string(req->id())));
    out->set_disconnected(1);
    return grpc::Status::OK;
  }
  if (auto e = CheckText(req->address(), "address", kMaxTargetSize, true); !e.ok()) return Finish(ctx, e);
  std::string error;
  const std::size_t n = peers->DisconnectAddress(req->address(), error);
  if (!error.empty()) return Finish(ctx, Invalid("address: " + error));
  if (n == 0) return Finish(ctx, NotFound("no peer at " + req->address()));
  out->set_disconnected(static_cast<std::uint32_t>(n));
  return grpc::Status::OK;
}

grpc::Status PeerServiceImpl::Ban(grpc::ServerContext* ctx, const v1::BanRequest* req, v1::BanResponse* out) {
  RPC_PEERS(ctx, "Ban");
  if (auto e = CheckText(req->subnet(), "subnet", kMaxTargetSize, true); !e.ok()) return Finish(ctx, e);
  if (auto e = CheckText(req->reason(), "reason", kMaxReasonSize, false); !e.ok()) return Finish(ctx, e);
  if (req->duration_seconds() < 0 || req->duration_seconds() > kMaxBanSeconds) {
    return Finish(ctx, Invalid("duration_seconds: between 0 (the node's --bantime) and " +
                               std::to_string(kMaxBanSeconds) + " (10 years), got " +
                               std::to_string(req->duration_seconds())));
  }
  std::string error;
  if (!peers->Ban(req->subnet(), std::chrono::seconds{req->duration_seconds()}, req->reason(), error)) {
    return Finish(ctx, Invalid("subnet: " + error));
  }
  // Report the entry as stored (the subnet normalised, the expiry computed by the node).
  const auto subnet = net::Subnet::Parse(req->subnet());
  for (const net::BanEntry& ban : peers->Bans()) {
    if (subnet && ban.subnet == *subnet) BanToProto(ban, out->mutable_ban());
  }
  return grpc::Status::OK;
}

grpc::Status PeerServiceImpl::Unban(grpc::ServerContext* ctx, const v1::UnbanRequest* req, v1::UnbanResponse*) {
  RPC_PEERS(ctx, "Unban");
  if (auto e = CheckText(req->subnet(), "subnet", kMaxTargetSize, true); !e.ok()) return Finish(ctx, e);
  if (!net::Subnet::Parse(req->subnet())) {
    return Finish(ctx, Invalid("subnet: '" + req->subnet() + "' is not an address or subnet (1.2.3.4, 10.0.0.0/8, ::1/128)"));
  }
  std::string error;
  if (!peers->Unban(req->subnet(), error)) return Finish(ctx, NotFound(error));
  return grpc::Status::OK;
}

grpc::Status PeerServiceImpl::ListBans(grpc::ServerContext* ctx, const v1::ListBansRequest*, v1::ListBansResponse* out) {
  RPC_PEERS(ctx, "ListBans");
  for (const net::BanEntry& ban : peers->Bans()) BanToProto(ban, out->add_bans());
  return grpc::Status::OK;
}

grpc::Status PeerServiceImpl::ClearBans(grpc::ServerContext* ctx, const v1::ClearBansRequest*,
                                        v1::ClearBansResponse* out) {
  RPC_PEERS(ctx, "ClearBans");
  out->set_cleared(static_cast<std::uint32_t>(peers->Bans().size()));
  peers->ClearBans();
  return grpc::Status::OK;
}

#undef RPC_PEERS

}  // namespace wattline::rpc
