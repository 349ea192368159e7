// The operator's wallet inside the node (docs/node.md, "Wallet").
//
// Keys: key i = a secret key derived from a 32-byte seed by
// TaggedHash("wattline/wallet-key", seed || u32 i) (the next i when the result is not a valid
// key). Addresses are Key(pk) conditions (node/address.h).
//
// At rest (`<datadir>/wallet.dat`): magic, version, scrypt parameters and salt, then the
// public part (key count and public keys: enough to watch the chain while locked) in the
// clear but authenticated, and the seed encrypted with AES-256-GCM under a key derived from
// the passphrase by scrypt (OpenSSL EVP_KDF). Written to a temporary file, fsynced and renamed;
// a corrupt file or a wrong passphrase is a clear error and the file is never overwritten.
//
// Locked, the wallet watches and reports balances; spending and new addresses need it
// unlocked (Unlock with a timeout; Lock wipes the seed from memory).
//
// Thread-safe: one lock. Chain events come from the node (BlockConnected/Disconnected) and
// mempool acceptance (TransactionAdded); it never calls the chainstate while the node holds
// chainstate locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "consensus/block.h"
#include "consensus/params.h"
#include "crypto/schnorr.h"

namespace wattline::node {

/** What the wallet asks of the node (implemented by node::Node; real components in tests). */
class WalletChain {
 public:
  virtual ~WalletChain() = default;
  virtual std::uint32_t TipHeight() const = 0;
  /** Calls fn for each active block from `from_height` to the tip, in order. */
  virtual void ForEachActiveBlock(std::uint32_t from_height,
                                  const std::function<void(const consensus::Block&, std::uint32_t)>& fn) const = 0;
  /** Submits to the mempool; false with a message when refused. */
  virtual bool SubmitTransaction(const consensus::TransactionRef& tx, std::string& error) = 0;
  /** Minimum fee rate the mempool accepts now (units per 1000 bytes). */
  virtual std::int64_t MinFeeRate() const = 0;
};

struct WalletBalance {
  consensus::Amount confirmed;  //!< in blocks, spendable (coinbases mature)
  consensus::Amount immature;   //!< coinbase outputs not yet mature
  consensus::Amount pending;    //!< change and receipts in the mempool, minus pending spends
};

struct WalletTxRecord {
  crypto::Hash256 txid;
  std::int64_t delta = 0;        //!< units in minus units out of this wallet
  std::optional<std::uint32_t> height;  //!< nullopt while unconfirmed
  bool coinbase = false;
  std::int64_t time = 0;
};

/** Options for Create and Open; the defaults are what the node uses. */
struct WalletOptions {
  /** scrypt cost for a new wallet file: N = 2^scrypt_log2_n (r = 8, p = 1). Tests lower it. */
  std::uint8_t scrypt_log2_n = 15;
  /** The clock the unlock timeout is measured on; empty: std::chrono::steady_clock. Tests set it. */
  std::function<std::chrono::steady_clock::time_point()> clock;
};

/**
 * A transaction the wallet funds: the outputs come first, in order, then the change; the inputs
 * are the wallet's. `minted` is what the record mints (a meter grant): it counts as input value.
 * `record`, when set, is called with the first input's outpoint (utility records sign it) and
 * may be called more than once while the fee is sized; it must return records of one size.
 */
struct SendRequest {
  std::vector<consensus::TxOut> outputs;
  consensus::Amount minted{0};
  std::function<consensus::Record(const consensus::OutPoint& first_input)> record;
  std::int64_t fee_rate = 0;  //!< units per 1000 bytes; 0: the mempool minimum
};

class Wallet {
 public:
  enum class Error { kNone, kNotFound, kCorrupt, kWrongPassphrase, kLocked, kInsufficientFunds, kBadAddress,
                     kBadAmount, kRejected, kIo, kExists };
  struct Result {
    Error error = Error::kNone;
    std::string message;
    bool ok() const { return error == Error::kNone; }
  };

  /** Creates a new wallet file at path (fails with kExists if one is there). */
  static Result Create(const std::filesystem::path& path, const std::string& passphrase,
                       const consensus::Params& params, WalletChain& chain, std::unique_ptr<Wallet>& out);
  /** Reads and parses a wallet file without opening it (no chain, no passphrase): corrupt, or another network's. */
  static Result Check(const std::filesystem::path& path, const consensus::Params& params);
  /** Opens an existing wallet file; it starts locked. Never modifies a file it cannot read. */
  static Result Open(const std::filesystem::path& path, const consensus::Params& params, WalletChain& chain,
                     std::unique_ptr<Wallet>& out);
  /** As above, with options (see WalletOptions). Open scans the active chain before returning. */
  static Result Create(const std::filesystem::path& path, const std::string& passphrase,
                       const consensus::Params& params, WalletChain& chain, std::unique_ptr<Wallet>& out,
                       const WalletOptions& options);
  static Result Open(const std::filesystem::path& path, const consensus::Params& params, WalletChain& chain,
                     std::unique_ptr<Wallet>& out, const WalletOptions& options);
  ~Wallet();
  Wallet(const Wallet&) = delete;
  Wallet& operator=(const Wallet&) = delete;

  /**
   * Decrypts the seed; the wallet locks itself again once `timeout` has passed (checked on each
   * call; 0 = until Lock()). kWrongPassphrase when the passphrase does not open the file.
   */
  Result Unlock(const std::string& passphrase, std::chrono::seconds timeout);
  void Lock();
  bool IsLocked() const;
  Result ChangePassphrase(const std::string& old_passphrase, const std::string& new_passphrase);

  /** A new receiving address (needs the wallet unlocked: it derives a key). */
  Result NewAddress(std::string& address);
  /** The wallet's default payout key (key 0), available while locked. */
  crypto::XOnlyPubKey DefaultKey() const;

  WalletBalance Balance() const;
  /** Builds, signs and submits a payment; fee from the fee rate (0: the mempool minimum). */
  Result Send(const std::string& address, consensus::Amount amount, std::int64_t fee_rate, crypto::Hash256& txid);
  /** Funds, signs and submits a transaction of any outputs and record (at least one input). */
  Result SendTransaction(const SendRequest& request, crypto::Hash256& txid);
  std::vector<WalletTxRecord> History() const;

  // Channel funding (channels/engine.h, through node/channels.h).
  /**
   * Reserves spendable coins worth at least amount, largest first, so that no Send uses them
   * until ReleaseCoins; the change (when any) goes to a fresh key. Reservations live in memory.
   */
  Result ReserveCoins(consensus::Amount amount, std::vector<std::pair<consensus::OutPoint, consensus::TxOut>>& coins,
                      std::optional<consensus::TxOut>& change);
  void ReleaseCoins(const std::vector<consensus::OutPoint>& coins);
  /** Signs inputs [first, first + count) of tx; each must spend a coin of this wallet. */
  Result SignInputs(const consensus::MutableTransaction& tx, std::size_t first, std::size_t count,
                    std::vector<crypto::Signature>& sigs);
  /** A BIP340 signature of msg with the default key (the node's channel key). */
  Result SignWithDefaultKey(const crypto::Hash256& msg, crypto::Signature& sig);

  /** Forgets what it knew of the chain and scans the active chain again. */
  void Rescan();

  // Events forwarded by the node.
  void BlockConnected(const consensus::Block& block, std::uint32_t height);
  void BlockDisconnected(const consensus::Block& block, std::uint32_t height);
  void TransactionAdded(const consensus::TransactionRef& tx);
  void TransactionRemoved(const crypto::Hash256& txid);

 private:
  struct Impl;  // node/wallet.cpp: the state behind the one lock
  explicit Wallet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace wattline::node
