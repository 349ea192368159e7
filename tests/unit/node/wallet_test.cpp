// The node wallet: its file (create, open, wrong passphrase, every kind of damage), locking,
// and an end-to-end run against a real regtest chainstate (mining, maturity, sending, fees,
// history, a reorganisation and a rescan).
#include "node/wallet.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "node/address.h"
#include "node/wallet_file.h"
#include "tests/unit/ledger/ledger_fixture.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
using namespace wattline::test;
using consensus::Amount;
using node::Wallet;

namespace {

constexpr std::uint8_t kTestScryptLog2N = 10;  // the default is 15; tests stay fast

std::vector<std::uint8_t> ReadAll(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void WriteAll(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/**
 * The thin adapter the wallet needs, over a real chainstate (or none, for file tests):
 * SubmitTransaction only collects transactions for the test to mine; MinFeeRate is settable.
 */
class TestChain : public node::WalletChain {
 public:
  ledger::Chainstate* cs = nullptr;
  std::vector<consensus::TransactionRef> submitted;
  std::int64_t min_fee_rate = 0;
  bool refuse = false;

  std::uint32_t TipHeight() const override { return cs ? cs->Height() : 0; }
  void ForEachActiveBlock(std::uint32_t from_height,
                          const std::function<void(const consensus::Block&, std::uint32_t)>& fn) const override {
    if (!cs) return;
    for (std::uint32_t h = from_height; h <= cs->Height(); ++h) {
      consensus::Block b;
      EXPECT_TRUE(cs->ReadBlock(*cs->ActiveAt(h), b));
      fn(b, h);
    }
  }
  bool SubmitTransaction(const consensus::TransactionRef& tx, std::string& error) override {
    if (refuse) {
      error = "test refuses";
      return false;
    }
    submitted.push_back(tx);
    return true;
  }
  std::int64_t MinFeeRate() const override { return min_fee_rate; }
};

/** Forwards the chainstate's events to the wallets, as the node does. */
class Forwarder : public ledger::Notifications {
 public:
  std::vector<Wallet*> wallets;
  void BlockConnected(const consensus::Block& block, const ledger::BlockIndex& index) override {
    for (Wallet* w : wallets) w->BlockConnected(block, index.height);
  }
  void BlockDisconnected(const consensus::Block& block, const ledger::BlockIndex& index) override {
    for (Wallet* w : wallets) w->BlockDisconnected(block, index.height);
  }
};

class WalletFileTest : public ::testing::Test {
 protected:
  const consensus::Params& params = consensus::GetParams(consensus::Network::kRegtest);
  TempDir dir;
  TestChain chain;
  std::chrono::steady_clock::time_point now{};
  node::WalletOptions options;
  std::filesystem::path path = dir.path() / "wallet.dat";

  void SetUp() override {
    options.scrypt_log2_n = kTestScryptLog2N;
    options.clock = [this] { return now; };
  }

  std::unique_ptr<Wallet> CreateWallet(const std::string& pass = "correct horse") {
    std::unique_ptr<Wallet> w;
    auto r = Wallet::Create(path, pass, params, chain, w, options);
    EXPECT_TRUE(r.ok()) << r.message;
    return w;
  }
  Wallet::Result OpenWallet(std::unique_ptr<Wallet>& w) { return Wallet::Open(path, params, chain, w, options); }
};

}  // namespace

TEST_F(WalletFileTest, CreateOpenUnlock) {
  auto w = CreateWallet();
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->IsLocked());
  const auto key0 = w->DefaultKey();
  EXPECT_TRUE(key0.IsValid());

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".new"));

  std::unique_ptr<Wallet> again;
  EXPECT_EQ(Wallet::Create(path, "other", params, chain, again, options).error, Wallet::Error::kExists);

  std::string address;
  EXPECT_EQ(w->NewAddress(address).error, Wallet::Error::kLocked);
  ASSERT_TRUE(w->Unlock("correct horse", std::chrono::seconds{60}).ok());
  EXPECT_FALSE(w->IsLocked());
  ASSERT_TRUE(w->NewAddress(address).ok());
  auto key1 = node::DecodeAddress(address, params.network);
  ASSERT_TRUE(key1);
  EXPECT_NE(*key1, key0);
  std::string address2;
  ASSERT_TRUE(w->NewAddress(address2).ok());
  EXPECT_NE(address2, address);
  w->Lock();
  EXPECT_TRUE(w->IsLocked());

  std::unique_ptr<Wallet> reopened;
  ASSERT_TRUE(OpenWallet(reopened).ok());
  EXPECT_TRUE(reopened->IsLocked());
  EXPECT_EQ(reopened->DefaultKey(), key0);
  // The reopened file holds all three keys, and unlocking re-derives them from the seed.
  std::string error;
  auto contents = node::wallet_file::Parse(ReadAll(path), error);
  ASSERT_TRUE(contents) << error;
  ASSERT_EQ(contents->keys.size(), 3u);
  EXPECT_EQ(contents->keys[1], *key1);
  EXPECT_TRUE(reopened->Unlock("correct horse", std::chrono::seconds{0}).ok());
}

TEST_F(WalletFileTest, MissingFileIsNotFound) {
  std::unique_ptr<Wallet> w;
  EXPECT_EQ(OpenWallet(w).error, Wallet::Error::kNotFound);
  EXPECT_FALSE(w);
}

TEST_F(WalletFileTest, DefaultScryptParametersAreStored) {
  options.scrypt_log2_n = 15;
  auto w = CreateWallet("pass");
  const auto bytes = ReadAll(path);
  ASSERT_EQ(bytes.size(), node::wallet_file::kHeaderSize + 32 + node::wallet_file::kTrailerSize);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "WLWALLET");
  EXPECT_EQ(bytes[8], 1);   // format version (u16 LE)
  EXPECT_EQ(bytes[9], 0);
  EXPECT_EQ(bytes[10], 3);  // regtest
  EXPECT_EQ(bytes[11], 1);  // scrypt
  EXPECT_EQ(bytes[12], 15); // log2 N
  EXPECT_EQ(bytes[13], 8);  // r
  EXPECT_EQ(bytes[17], 1);  // p
  EXPECT_TRUE(w->Unlock("pass", std::chrono::seconds{5}).ok());
}

TEST_F(WalletFileTest, WrongPassphraseLeavesFileUnchanged) {
  auto w = CreateWallet();
  const auto before = ReadAll(path);
  auto r = w->Unlock("wrong", std::chrono::seconds{60});
  EXPECT_EQ(r.error, Wallet::Error::kWrongPassphrase);
  EXPECT_NE(r.message.find("passphrase"), std::string::npos) << r.message;
  EXPECT_TRUE(w->IsLocked());
  EXPECT_EQ(w->ChangePassphrase("wrong", "new").error, Wallet::Error::kWrongPassphrase);

  std::unique_ptr<Wallet> reopened;
  ASSERT_TRUE(OpenWallet(reopened).ok());
  EXPECT_EQ(reopened->Unlock("", std::chrono::seconds{60}).error, Wallet::Error::kWrongPassphrase);
  EXPECT_EQ(ReadAll(path), before);
}

TEST_F(WalletFileTest, CorruptFileIsRefusedAndNeverRewritten) {
  CreateWallet();
  const auto good = ReadAll(path);
  // One offset in every region of the format (node/wallet_file.h).
  const std::vector<std::pair<std::size_t, const char*>> regions = {
      {0, "magic"},  {8, "version"}, {10, "network"}, {11, "kdf"},          {12, "log2 N"},
      {13, "r"},     {17, "p"},      {21, "salt"},    {37, "nonce"},        {49, "key count"},
      {60, "key 0"}, {85, "seed"},   {117, "tag"},    {good.size() - 1, "checksum"}};
  auto expect_corrupt = [&](const std::vector<std::uint8_t>& bytes, const std::string& what) {
    WriteAll(path, bytes);
    std::unique_ptr<Wallet> w;
    auto r = OpenWallet(w);
    EXPECT_EQ(r.error, Wallet::Error::kCorrupt) << what << ": " << r.message;
    EXPECT_FALSE(r.message.empty()) << what;
    EXPECT_FALSE(w) << what;
    EXPECT_EQ(ReadAll(path), bytes) << what << ": the file was modified";
  };
  for (const auto& [offset, name] : regions) {
    for (std::uint8_t mask : {0x01, 0x80}) {
      auto bad = good;
      bad[offset] ^= mask;
      expect_corrupt(bad, std::string{"flipped "} + name);
    }
  }
  expect_corrupt(std::vector<std::uint8_t>(good.begin(), good.end() - 1), "truncated by one byte");
  expect_corrupt(std::vector<std::uint8_t>(good.begin(), good.begin() + 60), "truncated to 60 bytes");
  expect_corrupt(std::vector<std::uint8_t>(good.begin(), good.begin() + 5), "truncated inside the magic");
  auto longer = good;
  longer.push_back(0);
  expect_corrupt(longer, "one byte appended");
  std::vector<std::uint8_t> garbage(good.size());
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>(i * 131 + 7);
  expect_corrupt(garbage, "garbage");
  expect_corrupt({}, "empty");

  // Another network's wallet, intact: refused, by name.
  std::string error;
  auto other = node::wallet_file::Parse(good, error);
  ASSERT_TRUE(other) << error;
  other->network = consensus::Network::kMain;
  const auto main_bytes = node::wallet_file::Serialize(*other);
  WriteAll(path, main_bytes);
  std::unique_ptr<Wallet> w;
  auto r = OpenWallet(w);
  EXPECT_EQ(r.error, Wallet::Error::kCorrupt);
  EXPECT_NE(r.message.find("main"), std::string::npos) << r.message;
  EXPECT_EQ(ReadAll(path), main_bytes);
}

TEST_F(WalletFileTest, TamperedPublicPartWithFixedChecksumFailsAuthentication) {
  CreateWallet();
  std::string error;
  auto c = node::wallet_file::Parse(ReadAll(path), error);
  ASSERT_TRUE(c) << error;
  c->keys[0] = TestKey(9).PubKey();  // an attacker swaps the payout key and fixes the checksum
  const auto tampered = node::wallet_file::Serialize(*c);
  WriteAll(path, tampered);
  std::unique_ptr<Wallet> w;
  ASSERT_TRUE(OpenWallet(w).ok());  // structurally sound: it opens, locked and watch-only
  EXPECT_EQ(w->Unlock("correct horse", std::chrono::seconds{60}).error, Wallet::Error::kWrongPassphrase);
  EXPECT_TRUE(w->IsLocked());
  EXPECT_EQ(ReadAll(path), tampered);
}

TEST_F(WalletFileTest, LocksItselfWhenTheTimeoutPasses) {
  auto w = CreateWallet();
  ASSERT_TRUE(w->Unlock("correct horse", std::chrono::seconds{10}).ok());
  now += std::chrono::seconds{9};
  EXPECT_FALSE(w->IsLocked());
  std::string address;
  EXPECT_TRUE(w->NewAddress(address).ok());
  now += std::chrono::seconds{1};
  EXPECT_TRUE(w->IsLocked());
  EXPECT_EQ(w->NewAddress(address).error, Wallet::Error::kLocked);
  crypto::Hash256 txid;
  EXPECT_EQ(w->Send(node::EncodeAddress(TestKey(2).PubKey(), params.network), Amount{1000}, 0, txid).error,
            Wallet::Error::kLocked);

  // Unlocking again restarts the timeout; 0 means until Lock().
  ASSERT_TRUE(w->Unlock("correct horse", std::chrono::seconds{0}).ok());
  now += std::chrono::hours{24 * 365};
  EXPECT_FALSE(w->IsLocked());
  w->Lock();
  EXPECT_TRUE(w->IsLocked());
  EXPECT_EQ(w->Unlock("correct horse", std::chrono::seconds{-1}).error, Wallet::Error::kBadAmount);
}

TEST_F(WalletFileTest, ChangePassphrase) {
  auto w = CreateWallet("old");
  ASSERT_TRUE(w->Unlock("old", std::chrono::seconds{60}).ok());
  ASSERT_TRUE(w->ChangePassphrase("old", "new").ok());
  // Still unlocked, and a new key is saved under the new passphrase.
  std::string address;
  ASSERT_TRUE(w->NewAddress(address).ok());
  w->Lock();
  EXPECT_EQ(w->Unlock("old", std::chrono::seconds{60}).error, Wallet::Error::kWrongPassphrase);
  EXPECT_TRUE(w->Unlock("new", std::chrono::seconds{60}).ok());

  std::unique_ptr<Wallet> reopened;
  ASSERT_TRUE(OpenWallet(reopened).ok());
  EXPECT_EQ(reopened->Unlock("old", std::chrono::seconds{60}).error, Wallet::Error::kWrongPassphrase);
  EXPECT_TRUE(reopened->Unlock("new", std::chrono::seconds{60}).ok());
  // Changing while locked works too (it needs only the old passphrase).
  reopened->Lock();
  ASSERT_TRUE(reopened->ChangePassphrase("new", "").ok());
  EXPECT_TRUE(reopened->IsLocked());
  EXPECT_TRUE(reopened->Unlock("", std::chrono::seconds{60}).ok());
}

TEST_F(WalletFileTest, SendRefusesBadInput) {
  auto w = CreateWallet();
  ASSERT_TRUE(w->Unlock("correct horse", std::chrono::seconds{60}).ok());
  const auto to = node::EncodeAddress(TestKey(2).PubKey(), params.network);
  crypto::Hash256 txid;
  auto r = w->Send("rwl1notanaddress", Amount{1000}, 0, txid);
  EXPECT_EQ(r.error, Wallet::Error::kBadAddress);
  r = w->Send(node::EncodeAddress(TestKey(2).PubKey(), consensus::Network::kMain), Amount{1000}, 0, txid);
  EXPECT_EQ(r.error, Wallet::Error::kBadAddress);
  EXPECT_NE(r.message.find("main"), std::string::npos) << r.message;
  EXPECT_EQ(w->Send(to, Amount{0}, 0, txid).error, Wallet::Error::kBadAmount);
  EXPECT_EQ(w->Send(to, Amount{-5}, 0, txid).error, Wallet::Error::kBadAmount);
  EXPECT_EQ(w->Send(to, Amount{consensus::kMaxMoney.units + 1}, 0, txid).error, Wallet::Error::kBadAmount);
  EXPECT_EQ(w->Send(to, Amount{1000}, -1, txid).error, Wallet::Error::kBadAmount);
  r = w->Send(to, Amount{1000}, 0, txid);
  EXPECT_EQ(r.error, Wallet::Error::kInsufficientFunds);
  EXPECT_NE(r.message.find("short by"), std::string::npos) << r.message;
  EXPECT_TRUE(chain.submitted.empty());
}

// --- end to end, on a real regtest chainstate --------------------------------------------

namespace {

class WalletChainTest : public LedgerTest {
 protected:
  Forwarder forwarder;
  TestChain chain;
  TempDir wallet_dir;
  std::chrono::steady_clock::time_point now{};
  node::WalletOptions options;
  std::unique_ptr<Wallet> wallet;   // the miner's wallet
  std::unique_ptr<Wallet> friend_;  // a second wallet that receives

  void SetUp() override {
    // The fixture's chainstate, reopened with the notifications the node would install.
    cs.reset();
    ledger::ChainstateOptions opts;
    opts.dir = dir.path() / "chainstate";
    opts.notifications = &forwarder;
    ASSERT_TRUE(ledger::Chainstate::Open(params, opts, cs).ok());
    chain.cs = cs.get();
    options.scrypt_log2_n = kTestScryptLog2N;
    options.clock = [this] { return now; };
    ASSERT_TRUE(Wallet::Create(wallet_dir.path() / "a.dat", "a", params, chain, wallet, options).ok());
    ASSERT_TRUE(Wallet::Create(wallet_dir.path() / "b.dat", "b", params, chain, friend_, options).ok());
    forwarder.wallets = {wallet.get(), friend_.get()};
  }

  void TearDown() override { cs.reset(); }  // before the forwarder's wallets go

  /** Mines one block on the tip with txs, its coinbase paying payee; the chainstate notifies. */
  consensus::Block MineTo(const crypto::XOnlyPubKey& payee, std::vector<consensus::TransactionRef> txs = {},
                          Amount fees = Amount{0}, const ledger::BlockIndex* prev = nullptr, std::uint64_t extra = 0) {
    auto block = MakeBlock(*cs, prev ? *prev : *cs->Tip(), std::move(txs), fees, payee, extra);
    consensus::ValidationState state;
    EXPECT_TRUE(cs->ProcessBlock(block, kNow, state)) << state.ToString();
    return block;
  }

  /** Mines the submitted transactions (fees from the chainstate's coins) to a stranger. */
  consensus::Block MineSubmitted() {
    std::int64_t fees = 0;
    for (const auto& tx : chain.submitted) fees += FeeOf(*tx);
    auto block = MineTo(TestKey(5).PubKey(), chain.submitted, Amount{fees});
    chain.submitted.clear();
    return block;
  }

  std::int64_t FeeOf(const consensus::Transaction& tx) {
    std::int64_t in = 0;
    for (const auto& i : tx.inputs()) {
      auto coin = cs->GetCoin(i.prevout);
      EXPECT_TRUE(coin);
      if (coin) in += coin->out.amount.units;
    }
    std::int64_t out = 0;
    for (const auto& o : tx.outputs()) out += o.amount.units;
    return in - out;
  }

  /** What the chainstate holds for these keys (the reference the wallet must match). */
  std::int64_t ChainValue(const std::set<crypto::XOnlyPubKey>& keys) {
    std::int64_t sum = 0;
    for (const auto& [op, coin] : ChainstateUtxo(*cs))
      if (coin.out.condition.type == consensus::ConditionType::kKey && keys.count(coin.out.condition.keys[0]))
        sum += coin.out.amount.units;
    return sum;
  }

  /** Sum of the subsidies of the coinbases at heights [from, to] (clamped to >= 1). */
  std::int64_t Subsidies(std::int64_t from, std::int64_t to) {
    std::int64_t sum = 0;
    for (std::int64_t h = std::max<std::int64_t>(from, 1); h <= to; ++h)
      sum += consensus::BlockSubsidy(static_cast<std::uint32_t>(h), params).units;
    return sum;
  }
};

bool SameHistory(const std::vector<node::WalletTxRecord>& a, const std::vector<node::WalletTxRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].txid != b[i].txid || a[i].delta != b[i].delta || a[i].height != b[i].height ||
        a[i].coinbase != b[i].coinbase)
      return false;
  return true;
}

}  // namespace

TEST_F(WalletChainTest, MinesSendsReorgsAndRescans) {
  const auto me = wallet->DefaultKey();
  const std::int64_t maturity = params.coinbase_maturity;

  // 1. One coinbase: immature, and not spendable.
  MineTo(me);
  auto b = wallet->Balance();
  EXPECT_EQ(b.confirmed.units, 0);
  EXPECT_EQ(b.immature.units, Subsidies(1, 1));
  EXPECT_EQ(b.pending.units, 0);
  ASSERT_TRUE(wallet->Unlock("a", std::chrono::seconds{600}).ok());
  const auto to_friend = node::EncodeAddress(friend_->DefaultKey(), params.network);
  crypto::Hash256 txid;
  EXPECT_EQ(wallet->Send(to_friend, consensus::Coins(1), 0, txid).error, Wallet::Error::kInsufficientFunds);

  // 2. Up to 101 blocks: coinbases at heights <= tip - maturity + 1 are mature.
  for (int i = 1; i < 101; ++i) MineTo(me);
  const std::int64_t tip = cs->Height();
  ASSERT_EQ(tip, 101);
  b = wallet->Balance();
  EXPECT_EQ(b.confirmed.units, Subsidies(1, tip - maturity + 1));
  EXPECT_EQ(b.immature.units, Subsidies(tip - maturity + 2, tip));
  EXPECT_EQ(b.confirmed.units + b.immature.units, ChainValue({me}));
  auto history = wallet->History();
  ASSERT_EQ(history.size(), 101u);
  EXPECT_TRUE(history.front().coinbase);
  EXPECT_EQ(history.front().height, 1u);
  EXPECT_EQ(history.front().delta, Subsidies(1, 1));
  EXPECT_EQ(history.back().height, 101u);

  // 3. Send 30 coins to the friend at the floor fee rate (mempool minimum 0 -> floor 1000).
  const Amount amount = consensus::Coins(30);
  const auto before = wallet->Balance();
  auto r = wallet->Send(to_friend, amount, 0, txid);
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(chain.submitted.size(), 1u);
  const auto tx = chain.submitted[0];
  EXPECT_EQ(tx->txid(), txid);
  friend_->TransactionAdded(tx);  // the mempool accepted it: both wallets hear of it
  wallet->TransactionAdded(tx);   // (idempotent for the sender)
  ASSERT_EQ(tx->inputs().size(), 1u);  // largest first: one 50-coin coinbase covers it
  ASSERT_EQ(tx->outputs().size(), 2u);
  EXPECT_EQ(tx->outputs()[0].amount, amount);
  EXPECT_EQ(tx->outputs()[0].condition, consensus::Condition::Key(friend_->DefaultKey()));
  const auto change_key = tx->outputs()[1].condition.keys[0];
  EXPECT_NE(change_key, me);  // change goes to a fresh key
  const std::int64_t fee = FeeOf(*tx);
  EXPECT_EQ(fee, static_cast<std::int64_t>((1000 * tx->size() + 999) / 1000));  // floor rate, signed size
  b = wallet->Balance();
  EXPECT_EQ(b.confirmed, before.confirmed);
  EXPECT_EQ(b.pending.units, -(amount.units + fee));
  EXPECT_EQ(friend_->Balance().pending, amount);
  history = wallet->History();
  ASSERT_EQ(history.size(), 102u);
  EXPECT_EQ(history.back().txid, txid);
  EXPECT_EQ(history.back().delta, -(amount.units + fee));
  EXPECT_FALSE(history.back().height);

  // 4. Mined: pending becomes confirmed, in both wallets and in the chainstate.
  MineSubmitted();
  const std::int64_t total_mined = Subsidies(1, 101);
  b = wallet->Balance();
  EXPECT_EQ(b.pending.units, 0);
  EXPECT_EQ(b.confirmed.units + b.immature.units, total_mined - amount.units - fee);
  EXPECT_EQ(b.immature.units, Subsidies(102 - maturity + 2, 101));
  EXPECT_EQ(b.confirmed.units + b.immature.units, ChainValue({me, change_key}));
  EXPECT_EQ(friend_->Balance().confirmed, amount);
  EXPECT_EQ(friend_->Balance().pending.units, 0);
  history = wallet->History();
  ASSERT_EQ(history.size(), 102u);
  EXPECT_EQ(history.back().height, 102u);
  EXPECT_EQ(history.back().delta, -(amount.units + fee));
  const auto friend_history = friend_->History();
  ASSERT_EQ(friend_history.size(), 1u);
  EXPECT_EQ(friend_history[0].delta, amount.units);
  EXPECT_EQ(friend_history[0].height, 102u);

  // 5. A higher mempool minimum raises the fee; two sends in a row use different coins.
  chain.min_fee_rate = 5000;
  crypto::Hash256 txid2;
  crypto::Hash256 txid3;
  ASSERT_TRUE(wallet->Send(to_friend, consensus::Coins(45), 0, txid2).ok());
  ASSERT_TRUE(wallet->Send(to_friend, consensus::Coins(45), 2000, txid3).ok());
  ASSERT_EQ(chain.submitted.size(), 2u);
  for (const auto& t : chain.submitted) {
    EXPECT_EQ(FeeOf(*t), static_cast<std::int64_t>((5000 * t->size() + 999) / 1000));
    wallet->TransactionAdded(t);
    friend_->TransactionAdded(t);
  }
  EXPECT_NE(chain.submitted[0]->inputs()[0].prevout, chain.submitted[1]->inputs()[0].prevout);
  const auto block103 = MineSubmitted();  // the chainstate checks every signature and fee
  EXPECT_EQ(friend_->Balance().confirmed, consensus::Coins(30 + 45 + 45));
  const auto balance103 = wallet->Balance();
  const auto history103 = wallet->History();

  // 6. A refused transaction releases its coins.
  chain.refuse = true;
  EXPECT_EQ(wallet->Send(to_friend, consensus::Coins(1), 0, txid).error, Wallet::Error::kRejected);
  chain.refuse = false;

  // 7. Reorganisation: a longer branch from 102 replaces block 103. Its transactions go back to
  //    pending; the balance totals stay the same.
  const auto* fork = cs->ActiveAt(102);
  const auto alt103 = MineTo(TestKey(6).PubKey(), {}, Amount{0}, fork, /*extra=*/1);
  const auto* alt_tip = cs->LookupBlockIndex(alt103.Hash());
  MineTo(TestKey(6).PubKey(), {}, Amount{0}, alt_tip, /*extra=*/1);
  ASSERT_EQ(cs->Height(), 104u);
  ASSERT_EQ(cs->ActiveAt(103)->hash, alt103.Hash());
  b = wallet->Balance();
  EXPECT_EQ(b.confirmed.units + b.immature.units + b.pending.units,
            balance103.confirmed.units + balance103.immature.units);
  EXPECT_EQ(b.pending.units, -(2 * consensus::Coins(45).units + FeeOf(*block103.txs[1]) + FeeOf(*block103.txs[2])));
  EXPECT_EQ(b.confirmed.units + b.immature.units, ChainValue({me, change_key}));
  EXPECT_EQ(friend_->Balance().confirmed, amount);
  EXPECT_EQ(friend_->Balance().pending, consensus::Coins(90));
  history = wallet->History();
  ASSERT_EQ(history.size(), 104u);
  EXPECT_FALSE(history[102].height);
  EXPECT_FALSE(history[103].height);

  // 8. Rescan finds the same; a wallet opened from the file finds the same confirmed state.
  const auto before_rescan = wallet->Balance();
  const auto history_before_rescan = wallet->History();
  wallet->Rescan();
  EXPECT_EQ(wallet->Balance().confirmed, before_rescan.confirmed);
  EXPECT_EQ(wallet->Balance().immature, before_rescan.immature);
  EXPECT_EQ(wallet->Balance().pending, before_rescan.pending);
  EXPECT_TRUE(SameHistory(wallet->History(), history_before_rescan));
  std::unique_ptr<Wallet> reopened;
  ASSERT_TRUE(Wallet::Open(wallet_dir.path() / "a.dat", params, chain, reopened, options).ok());
  EXPECT_EQ(reopened->Balance().confirmed, before_rescan.confirmed);
  EXPECT_EQ(reopened->Balance().immature, before_rescan.immature);
  EXPECT_EQ(reopened->Balance().pending.units, 0);  // it never saw the mempool
  EXPECT_EQ(reopened->History().size(), 102u);

  // 9. The mempool drops the two sends (say, they conflict): pending is gone; mining them
  //    again instead confirms them.
  wallet->TransactionRemoved(block103.txs[1]->txid());
  EXPECT_EQ(wallet->Balance().pending.units, -(consensus::Coins(45).units + FeeOf(*block103.txs[2])));
  chain.submitted = {block103.txs[2]};
  MineSubmitted();
  b = wallet->Balance();
  EXPECT_EQ(b.pending.units, 0);
  const auto change_key3 = block103.txs[2]->outputs()[1].condition.keys[0];
  EXPECT_EQ(b.confirmed.units + b.immature.units, ChainValue({me, change_key, change_key3}));
  wallet->Rescan();
  EXPECT_EQ(wallet->Balance().confirmed, b.confirmed);
  EXPECT_EQ(wallet->Balance().immature, b.immature);
  EXPECT_EQ(wallet->History().size(), 103u);  // the dropped send is gone, the other confirmed
  EXPECT_TRUE(wallet->History().back().height);
  (void)history103;
}

TEST_F(WalletChainTest, RescanWhileBlocksConnectEndsConsistent) {
  const auto me = wallet->DefaultKey();
  for (int i = 0; i < 5; ++i) MineTo(me);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      wallet->Rescan();
      (void)wallet->Balance();
      (void)wallet->History();
    }
  });
  for (int i = 0; i < 40; ++i) MineTo(me);
  done = true;
  reader.join();
  const auto b = wallet->Balance();
  EXPECT_EQ(b.confirmed.units + b.immature.units, ChainValue({me}));
  EXPECT_EQ(b.immature.units, Subsidies(1, 45));
  EXPECT_EQ(wallet->History().size(), 45u);
  wallet->Rescan();
  EXPECT_EQ(wallet->Balance().immature, b.immature);
  EXPECT_EQ(wallet->History().size(), 45u);
}

TEST_F(WalletChainTest, SpendsOwnPendingChangeAndPaysItself) {
  const auto me = wallet->DefaultKey();
  for (int i = 0; i < 101; ++i) MineTo(me);
  ASSERT_EQ(wallet->Balance().confirmed, consensus::Coins(100));  // two mature coinbases
  ASSERT_TRUE(wallet->Unlock("a", std::chrono::seconds{60}).ok());
  const auto to_friend = node::EncodeAddress(friend_->DefaultKey(), params.network);

  // 60 coins need both coinbases; the 30 that follow can only come from the pending change.
  crypto::Hash256 first;
  crypto::Hash256 second;
  ASSERT_TRUE(wallet->Send(to_friend, consensus::Coins(60), 0, first).ok());
  auto r = wallet->Send(to_friend, consensus::Coins(30), 0, second);
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(chain.submitted.size(), 2u);
  EXPECT_EQ(chain.submitted[0]->inputs().size(), 2u);
  ASSERT_EQ(chain.submitted[1]->inputs().size(), 1u);
  EXPECT_EQ(chain.submitted[1]->inputs()[0].prevout, (consensus::OutPoint{first, 1}));
  // Nothing is left: the rest is the second send's pending change.
  crypto::Hash256 third;
  r = wallet->Send(to_friend, consensus::Coins(10), 0, third);
  EXPECT_EQ(r.error, Wallet::Error::kInsufficientFunds) << r.message;

  // Fees of chained transactions: the first one's inputs are in the chainstate, the second's
  // input is the first's output.
  const std::int64_t fee1 = FeeOf(*chain.submitted[0]);
  const auto& tx2 = *chain.submitted[1];
  const std::int64_t fee2 = chain.submitted[0]->outputs()[1].amount.units - tx2.outputs()[0].amount.units -
                            tx2.outputs()[1].amount.units;
  EXPECT_EQ(fee2, static_cast<std::int64_t>((1000 * tx2.size() + 999) / 1000));
  EXPECT_EQ(wallet->Balance().pending.units, -(consensus::Coins(90).units + fee1 + fee2));
  auto block = MineTo(TestKey(5).PubKey(), chain.submitted, Amount{fee1 + fee2});  // parent then child
  chain.submitted.clear();
  EXPECT_EQ(wallet->Balance().pending.units, 0);
  EXPECT_EQ(friend_->Balance().confirmed, consensus::Coins(90));

  // Paying itself costs exactly the fee.
  for (int i = 0; i < 3; ++i) MineTo(TestKey(5).PubKey());
  std::string own;
  ASSERT_TRUE(wallet->NewAddress(own).ok());
  crypto::Hash256 self;
  r = wallet->Send(own, consensus::Coins(1), 0, self);
  ASSERT_TRUE(r.ok()) << r.message;
  const std::int64_t fee3 = FeeOf(*chain.submitted[0]);
  EXPECT_EQ(wallet->History().back().delta, -fee3);
  EXPECT_EQ(wallet->Balance().pending.units, -fee3);

  std::set<crypto::XOnlyPubKey> keys{me, *node::DecodeAddress(own, params.network)};
  for (const auto& tx : block.txs)
    if (tx->outputs().size() > 1) keys.insert(tx->outputs()[1].condition.keys[0]);
  keys.insert(chain.submitted[0]->outputs()[1].condition.keys[0]);
  MineSubmitted();
  const auto b = wallet->Balance();
  EXPECT_EQ(b.pending.units, 0);
  EXPECT_EQ(b.confirmed.units + b.immature.units, ChainValue(keys));
  EXPECT_EQ(b.confirmed.units + b.immature.units,
            Subsidies(1, 101) - consensus::Coins(90).units - fee1 - fee2 - fee3);
}
