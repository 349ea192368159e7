// wattline-cli against the real RpcServer serving a real regtest node: output, --json, the
// amounts that reach the real wallet, and the exit codes scripts rely on (0 ok, 1 RPC error,
// 2 usage, 3 cannot connect / credentials missing).
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "cli/amount.h"
#include "consensus/market.h"
#include "crypto/hex.h"
#include "tests/unit/rpc/server_fixture.h"

namespace wattline::rpc {
namespace {

struct CliResult {
  int code = -1;
  std::string out;  // stdout and stderr
};

class CliTest : public ServerTest {
 protected:
  CliResult Run(const std::string& args) {
    const std::string cmd = std::string(WATTLINE_CLI) + " --datadir " + m_dir.path().string() + " " + args + " 2>&1";
    CliResult r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }
};

TEST_F(CliTest, HumanAndJsonOutput) {
  CliResult r = Run("getblockcount");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "0\n");
  r = Run("getbestblockhash");
  EXPECT_EQ(r.out, Params().genesis_hash.ToHex() + "\n");
  r = Run("--json getinfo");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"network\":\"NETWORK_REGTEST\""), std::string::npos) << r.out;
  r = Run("--role meter getblock 0");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(Params().genesis.txs.at(0)->txid().ToHex()), std::string::npos) << r.out;
  r = Run("getbalance");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.substr(0, 11), "0.00000000\n") << r.out;

  // Blocks mined by the real node to its wallet: count, tip and the confirmed balance as the
  // CLI prints them.
  const auto hashes = Generate(Params().coinbase_maturity + 1);
  ASSERT_FALSE(hashes.empty());
  r = Run("getblockcount");
  EXPECT_EQ(r.out, std::to_string(hashes.size()) + "\n");
  r = Run("getbestblockhash");
  EXPECT_EQ(r.out, hashes.back().ToHex() + "\n");
  r = Run("--role wallet getbalance");
  EXPECT_EQ(r.code, 0) << r.out;
  const std::string confirmed = cli::FormatCoins(m_node->wallet()->Balance().confirmed.units);
  EXPECT_EQ(r.out.substr(0, confirmed.size() + 1), confirmed + "\n") << r.out;
  // Mature at the next height (tip + 1): the coinbases of heights 1 .. tip + 1 - maturity.
  const std::int64_t mature = static_cast<std::int64_t>(hashes.size()) + 1 - Params().coinbase_maturity;
  EXPECT_EQ(m_node->wallet()->Balance().confirmed.units, mature * consensus::BlockSubsidy(1, Params()).units);
  r = Run("--json getblock " + hashes.back().ToHex());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(hashes.back().ToHex()), std::string::npos) << r.out;
}

TEST_F(CliTest, SendParsesTheAmountExactly) {
  const auto receiver = test::TestKey(2).PubKey();
  const std::string to = Address(receiver);
  CliResult r = Run("sendtoaddress " + to + " 1.5");
  EXPECT_EQ(r.code, 1) << r.out;  // the real wallet starts locked
  EXPECT_NE(r.out.find("FAILED_PRECONDITION"), std::string::npos) << r.out;
  r = Run(std::string("walletunlock ") + kPassphrase + " 600");
  ASSERT_EQ(r.code, 0) << r.out;
  Generate(Params().coinbase_maturity + 2);  // two mature coinbases
  std::vector<crypto::Hash256> txids;
  for (const char* amount : {"1.5", "0.29"}) {
    r = Run("sendtoaddress " + to + " " + amount);
    ASSERT_EQ(r.code, 0) << r.out;
    auto txid = crypto::Hash256::FromHex(r.out.substr(0, 64));
    ASSERT_TRUE(txid) << r.out;
    txids.push_back(*txid);
  }
  // What reached the real mempool pays exactly these units to the receiver.
  auto paid = [&](const crypto::Hash256& txid) -> std::int64_t {
    auto entry = m_node->mempool().Get(txid);
    if (!entry) return -1;
    for (const auto& o : entry->tx->outputs())
      if (o.condition == consensus::Condition::Key(receiver)) return o.amount.units;
    return -1;
  };
  EXPECT_EQ(paid(txids[0]), 150'000'000);
  EXPECT_EQ(paid(txids[1]), 29'000'000);
  const auto pool = m_node->mempool().Count();
  for (const char* bad : {"-1", "1e3", "0.000000001", "abc"}) {
    r = Run("sendtoaddress " + to + " -- " + bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
  }
  EXPECT_EQ(m_node->mempool().Count(), pool);
}

TEST_F(CliTest, ExitCodes) {
  CliResult r = Run("--role meter getbalance");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("PERMISSION_DENIED"), std::string::npos) << r.out;
  r = Run("getblock abcd");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("INVALID_ARGUMENT"), std::string::npos) << r.out;
  r = Run("sendrawtransaction 0707");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("bad-txns-encoding"), std::string::npos) << r.out;
  {
    // A real signed transaction whose input the chain does not have.
    const auto key = test::TestKey(3);
    consensus::TxOut spent{consensus::Amount{50'000}, consensus::Condition::Key(key.PubKey())};
    crypto::Hash256 nowhere;
    nowhere.bytes.fill(0x24);
    const auto tx = test::MakeSpend(Params(), {{{nowhere, 1}, spent}}, key,
                                    {{consensus::Amount{40'000}, consensus::Condition::Key(key.PubKey())}});
    const consensus::Bytes raw = consensus::EncodeTransaction(*tx);
    r = Run("sendrawtransaction " + crypto::HexEncode(raw));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("FAILED_PRECONDITION"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(consensus::ReasonCode(consensus::Reason::kTxMissingInputs)), std::string::npos) << r.out;
  }
  r = Run("--token-file /dev/null getinfo");
  EXPECT_EQ(r.code, 3) << r.out;
  r = Run("nosuchcommand");
  EXPECT_EQ(r.code, 2) << r.out;
  r = Run("sendrawtransaction xyz");
  EXPECT_EQ(r.code, 2) << r.out;
  r = Run("--rpcconnect 127.0.0.1:1 --timeout 5 getinfo");
  EXPECT_EQ(r.code, 3) << r.out;
  r = Run("--token-file /nonexistent/token getinfo");
  EXPECT_EQ(r.code, 3) << r.out;
  r = Run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
}

// `meter provision`: a key written once, owner-only, whose printed public key is the key in the
// file; it is then registered, read and rewarded through the market subcommands.
TEST_F(CliTest, MeterProvisionAndTheMarketCommands) {
  const std::string key_file = (m_dir.path() / "meter1.key").string();
  CliResult r = Run("meter provision --out " + key_file);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string pub = r.out.substr(0, r.out.size() - 1);
  ASSERT_EQ(pub.size(), 64u) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string line;
  {
    std::ifstream in(key_file);
    std::getline(in, line);
  }
  const auto raw = crypto::HexDecode(line);
  ASSERT_TRUE(raw && raw->size() == 32);
  const auto secret = crypto::SecretKey::FromBytes(*raw);
  ASSERT_TRUE(secret);
  EXPECT_EQ(crypto::HexEncode(secret->PubKey().span()), pub);
  // Never overwritten: the second run fails and the file keeps its key.
  r = Run("meter provision --out " + key_file);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("never overwritten"), std::string::npos) << r.out;
  {
    std::ifstream in(key_file);
    std::string again;
    std::getline(in, again);
    EXPECT_EQ(again, line);
  }
  r = Run("--json meter pubkey --key " + key_file);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "{\"meter\":\"" + pub + "\"}\n");
  r = Run("meter provision");
  EXPECT_EQ(r.code, 2) << r.out;

  // Registration is the utility's: admin is refused, the utility credential is not.
  ASSERT_TRUE(m_node->wallet()->Unlock(kPassphrase, std::chrono::seconds(600)).ok());
  Generate(Params().coinbase_maturity + 1);
  const std::string owner = Address(test::TestKey(8).PubKey());
  r = Run("registermeter " + pub + " " + owner + " producer");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("PERMISSION_DENIED"), std::string::npos) << r.out;
  r = Run("--role utility registermeter " + pub + " " + owner + " sunflower");
  EXPECT_EQ(r.code, 2) << r.out;
  r = Run("--role utility registermeter " + pub + " " + owner + " producer");
  ASSERT_EQ(r.code, 0) << r.out;
  Generate(1);
  r = Run("--role utility --json listmeters");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(pub), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"registered\":true"), std::string::npos) << r.out;

  // A reading signed with the provisioned key, submitted from a JSON file with the meter role.
  consensus::Reading reading;
  reading.meter = secret->PubKey();
  reading.start = static_cast<std::uint64_t>(m_node->chainstate().Tip()->header.time) - 3600;
  reading.length = 900;
  reading.export_wh = 1234;
  reading.export_register = 1234;
  reading.sig = secret->Sign(consensus::ReadingSigHash(Params(), reading));
  const std::string json_file = (m_dir.path() / "readings.json").string();
  {
    std::ofstream out(json_file);
    out << "{\"readings\":[{\"meter\":\"" << pub << "\",\"start\":" << reading.start
        << ",\"length\":900,\"exportWh\":1234,\"exportRegister\":1234,\"signature\":\""
        << crypto::HexEncode(reading.sig.span()) << "\"}]}";
  }
  r = Run("--role meter --json submitreadings " + json_file);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"rewards\":\"123400\""), std::string::npos) << r.out;
  // The same reading again is refused (once-only), with its reason.
  r = Run("--role meter submitreadings " + json_file);
  EXPECT_EQ(r.code, 1) << r.out;
  Generate(1);
  r = Run("--role wallet --json getrewards " + owner);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"total\":\"123400\""), std::string::npos) << r.out;
  r = Run("--role wallet --json listreadings " + pub);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"1234\""), std::string::npos) << r.out;
  r = Run("--role meter getprice");
  EXPECT_EQ(r.code, 0) << r.out;
  r = Run("--role meter --json getschedule --count 3 --from 0");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"slots\""), std::string::npos) << r.out;
  r = Run("--role meter getmarketinfo");
  EXPECT_EQ(r.code, 0) << r.out;
}

}  // namespace
}  // namespace wattline::rpc
