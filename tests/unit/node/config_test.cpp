#include "node/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/unit/ledger/ledger_fixture.h"

using namespace wattline;

namespace {
bool Parse(std::vector<std::string> args, node::DaemonConfig& config, std::string& error) {
  std::vector<const char*> argv{"wattlined"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return node::ParseConfig(static_cast<int>(argv.size()), argv.data(), config, error);
}
}  // namespace

TEST(Config, DefaultsPerNetwork) {
  node::DaemonConfig c;
  std::string error;
  ASSERT_TRUE(Parse({"--network", "devnet", "--datadir", "/nonexistent/x"}, c, error)) << error;
  EXPECT_EQ(c.network, consensus::Network::kDevnet);
  EXPECT_EQ(c.rpc_port, 29734);
  EXPECT_EQ(c.node.params, &consensus::GetParams(consensus::Network::kDevnet));
  EXPECT_EQ(c.node.mine_threads, 0u);
  EXPECT_EQ(node::DefaultDatadir(consensus::Network::kRegtest).filename(), "regtest");
}

TEST(Config, FlagsOverrideTheFile) {
  test::TempDir dir;
  {
    std::ofstream f(dir.path() / "wattline.conf");
    f << "# comment\nmine = 1\nminethreads = 3\nrpcport = 5000\nloglevel = debug\nnetwork = regtest\n";
  }
  node::DaemonConfig c;
  std::string error;
  ASSERT_TRUE(Parse({"--datadir", dir.path().string(), "--rpcport", "6000"}, c, error)) << error;
  EXPECT_EQ(c.network, consensus::Network::kRegtest);  // the file may set it when the flags do not
  EXPECT_EQ(c.node.mine_threads, 3u);
  EXPECT_EQ(c.rpc_port, 6000);  // flag wins
  EXPECT_EQ(c.log.level, spdlog::level::debug);
}

TEST(Config, RejectsBadInputWithOneLineErrors) {
  test::TempDir dir;
  node::DaemonConfig c;
  std::string error;
  EXPECT_FALSE(Parse({"--network", "moon"}, c, error));
  EXPECT_NE(error.find("unknown network 'moon'"), std::string::npos) << error;
  EXPECT_FALSE(Parse({"--no-such-flag"}, c, error));
  EXPECT_NE(error.find("no-such-flag"), std::string::npos) << error;
  EXPECT_FALSE(Parse({"--datadir", dir.path().string(), "--loglevel", "loud"}, c, error));
  EXPECT_NE(error.find("loglevel"), std::string::npos) << error;
  EXPECT_FALSE(Parse({"--datadir", dir.path().string(), "--debug", "net,bogus"}, c, error));
  EXPECT_NE(error.find("bogus"), std::string::npos) << error;
  EXPECT_FALSE(Parse({"--datadir", dir.path().string(), "--rpcport", "70000"}, c, error));
  EXPECT_FALSE(Parse({"--datadir", dir.path().string(), "--minethreads", "-2"}, c, error));
  EXPECT_FALSE(Parse({"--conf", (dir.path() / "missing.conf").string()}, c, error));
  EXPECT_NE(error.find("cannot read config file"), std::string::npos) << error;
  {
    std::ofstream f(dir.path() / "wattline.conf");
    f << "bogus = 1\n";
  }
  EXPECT_FALSE(Parse({"--datadir", dir.path().string()}, c, error));
  EXPECT_NE(error.find("bogus"), std::string::npos) << error;
  EXPECT_FALSE(error.find('\n') != std::string::npos);
}

TEST(Config, HelpDocumentsEveryOption) {
  const std::string help = node::HelpText();
  for (const char* opt : {"--network", "--datadir", "--conf", "--dbcache", "--maxmempool", "--minrelayfee",
                          "--mempoolexpiry", "--persistmempool", "--sigcachesize", "--mine", "--minethreads", "--payout", "--wallet",
                          "--utility", "--rpcbind", "--rpcport", "--rpcrate", "--loglevel", "--debug"})
    EXPECT_NE(help.find(opt), std::string::npos) << opt;
}

TEST(Config, SignatureCacheSize) {
  node::DaemonConfig c;
  std::string error;
  ASSERT_TRUE(Parse({"--datadir", "/nonexistent/x"}, c, error)) << error;
  EXPECT_EQ(c.node.sig_cache_bytes, crypto::SigCache::kDefaultBytes);
  ASSERT_TRUE(Parse({"--datadir", "/nonexistent/x", "--sigcachesize", "4"}, c, error)) << error;
  EXPECT_EQ(c.node.sig_cache_bytes, 4u << 20);
  ASSERT_TRUE(Parse({"--datadir", "/nonexistent/x", "--sigcachesize", "0"}, c, error)) << error;
  EXPECT_EQ(c.node.sig_cache_bytes, 0u);  // off
  EXPECT_FALSE(Parse({"--datadir", "/nonexistent/x", "--sigcachesize", "-1"}, c, error));
  EXPECT_NE(error.find("sigcachesize"), std::string::npos) << error;
}
