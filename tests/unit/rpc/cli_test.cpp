// wattline-cli against the real RpcServer (fake backend): output, --json, and the exit codes
// scripts rely on (0 ok, 1 RPC error, 2 usage, 3 cannot connect / credentials missing).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

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
  EXPECT_EQ(r.out, m_backend.params().genesis_hash.ToHex() + "\n");
  r = Run("--json getinfo");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"network\":\"NETWORK_REGTEST\""), std::string::npos) << r.out;
  r = Run("--role meter getblock 0");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(m_backend.params().genesis.txs.at(0)->txid().ToHex()), std::string::npos) << r.out;
  r = Run("getbalance");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.substr(0, 11), "0.00000005\n") << r.out;
}

TEST_F(CliTest, SendParsesTheAmountExactly) {
  const std::string to = m_backend.EncodeAddress({});
  CliResult r = Run("sendtoaddress " + to + " 1.5");
  EXPECT_EQ(r.code, 0) << r.out;
  r = Run("sendtoaddress " + to + " 0.29");
  EXPECT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(m_backend.sends.size(), 2u);
  EXPECT_EQ(m_backend.sends[0], 150'000'000);
  EXPECT_EQ(m_backend.sends[1], 29'000'000);
  for (const char* bad : {"-1", "1e3", "0.000000001", "abc"}) {
    r = Run("sendtoaddress " + to + " -- " + bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
  }
  EXPECT_EQ(m_backend.sends.size(), 2u);
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

}  // namespace
}  // namespace wattline::rpc
