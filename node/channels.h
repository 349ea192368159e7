// The node's channels (docs/channels.md, "The engine in the node"): the channel engine and,
// on the utility's node, the watchtower and the arbiter of penalty and delivered closes, wired to this node's chain, mempool, wallet and P2P
// network. It is the ChannelHost of channels/engine.h:
//   - the channel key is the wallet's default key (the key that owns the node's meter);
//   - funding coins are reserved in the wallet; signatures come from the wallet (unlocked);
//   - broadcasts go through Node::SubmitTransaction (the mempool, then relay);
//   - messages travel in `channel` frames to the peer named host:port (its listening address);
//     an unconnected peer is connected (and kept connected) first, and the engine resumes the
//     channel when the connection is up.
// Chain events and peer messages are handled on one worker thread of its own, in order, so a
// peer's strand and the chain's listeners never wait for a channel's disk sync. Messages that
// arrive while the worker is busy queue up and are handed to the engine together, a run per
// peer, so their states share one synced write (group commit).
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "channels/arbiter.h"
#include "channels/engine.h"
#include "channels/store.h"
#include "channels/tower.h"

namespace wattline::node {

class Node;

struct ChannelOptions {
  /** The utility's node (host:port) that watches this node's channels; empty: none. */
  std::string tower;
  channels::EngineOptions engine;
};

class NodeChannels final : public channels::ChannelHost {
 public:
  /** Opens <datadir>/channels (and <datadir>/tower on a utility node); nullptr with a one-line error. */
  static std::unique_ptr<NodeChannels> Start(Node& node, ChannelOptions options, std::string& error);
  ~NodeChannels() override;
  void Stop();

  channels::ChannelEngine& engine() { return *m_engine; }
  /** nullptr unless this node holds the utility key. */
  channels::Watchtower* tower() { return m_tower.get(); }

  /** From the P2P layer (any thread): a decoded channel message of the peer named `peer`. */
  void OnMessage(const std::string& peer, channels::ChannelMessage msg);
  void OnPeerConnected(const std::string& peer);

  // ChannelHost
  const consensus::Params& params() const override;
  std::uint32_t TipHeight() const override;
  std::uint64_t TipTime() const override;
  std::vector<consensus::Reading> CountedReadings(const consensus::MeterId& meter, std::uint64_t from_start,
                                                  std::size_t limit) const override;
  consensus::MarketGlobals Globals() const override;
  std::optional<consensus::ChannelState> OnChain(const consensus::ChannelId& id) const override;
  bool Broadcast(const consensus::MutableTransaction& tx, std::string& why) override;
  void Send(const std::string& peer, const channels::ChannelMessage& msg) override;
  crypto::XOnlyPubKey Key() const override;
  std::optional<consensus::Signature> Sign(const consensus::Hash256& msg) override;
  std::optional<crypto::XOnlyPubKey> UtilityKey() const override;
  std::optional<consensus::Signature> SignAsUtility(const consensus::Hash256& msg) override;
  bool SelectFunding(std::uint64_t amount, std::vector<channels::FundingInput>& inputs,
                     std::optional<consensus::TxOut>& change, std::string& why) override;
  bool SignInputs(const consensus::MutableTransaction& tx, std::size_t first, std::size_t count,
                  std::vector<consensus::Signature>& sigs, std::string& why) override;
  void ReleaseFunding(const std::vector<channels::FundingInput>& inputs) override;

 private:
  NodeChannels(Node& node, ChannelOptions options) : m_node(node), m_options(std::move(options)) {}
  void Post(std::function<void()> job);
  void Run();
  void OnBlock(const crypto::Hash256& hash);
  /** What OnBlock does, for the chain as it stands when the channels start. */
  void CatchUp();
  /** Hands every queued message on: the engine's in runs per peer (group commit), the tower's in batches. */
  void Drain();

  Node& m_node;
  ChannelOptions m_options;
  std::unique_ptr<channels::ChannelStore> m_store;
  std::unique_ptr<channels::ChannelEngine> m_engine;
  std::unique_ptr<channels::Watchtower> m_tower;
  std::unique_ptr<channels::Arbiter> m_arbiter;  //!< with the tower: co-signs penalty and delivered closes
  std::uint64_t m_subscription = 0;

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_jobs;
  static constexpr std::size_t kMaxInbox = 16'384;
  std::deque<std::pair<std::string, channels::ChannelMessage>> m_inbox;  //!< messages not yet handed on
  bool m_drain_posted = false;
  std::uint64_t m_dropped = 0;

  bool m_stopping = false;
  std::thread m_worker;
};

/** The name a channel uses for a peer: its address with its listening port ("1.2.3.4:39733"). */
std::string ChannelPeerName(const std::string& ip, std::uint16_t listen_port);

}  // namespace wattline::node
