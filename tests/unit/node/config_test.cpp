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

TEST(Config, PeerPermissionsAndReindexChainstate) {
  node::DaemonConfig c;
  std::string error;
  ASSERT_TRUE(Parse({"--network", "regtest", "--datadir", "/nonexistent/x", "--whitelist", "noban@127.0.0.0/8",
                     "--whitelist", "10.1.2.3", "--whitebind", "relay,download@127.0.0.1:40123", "--reindex-chainstate"},
                    c, error))
      << error;
  ASSERT_EQ(c.network_options.whitelist.size(), 2u);
  EXPECT_EQ(c.network_options.whitelist[0].flags, static_cast<std::uint32_t>(net::kPermNoBan));
  EXPECT_EQ(c.network_options.whitelist[1].flags, static_cast<std::uint32_t>(net::kPermWhitelistDefault));
  ASSERT_EQ(c.network_options.whitebind.size(), 1u);
  EXPECT_EQ(c.network_options.whitebind[0].host, "127.0.0.1");
  EXPECT_EQ(c.network_options.whitebind[0].port, 40123);
  EXPECT_EQ(c.network_options.whitebind[0].permissions, static_cast<std::uint32_t>(net::kPermRelay | net::kPermDownload));
  EXPECT_TRUE(c.node.reindex_chainstate);

  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--whitelist", "bogus@1.2.3.4"}, "--whitelist 'bogus@1.2.3.4': unknown permission 'bogus'"},
      {{"--whitelist", "noban@nowhere"}, "not an address or a subnet"},
      {{"--whitebind", "noban@127.0.0.1"}, "--whitebind 'noban@127.0.0.1': not ADDR:PORT"},
      {{"--whitebind", "noban@localhost:1"}, "not ADDR:PORT (a numeric address)"},
      {{"--whitebind", "sometimes@127.0.0.1:1"}, "unknown permission 'sometimes'"},
  };
  for (const auto& [args, expect] : bad) {
    node::DaemonConfig d;
    std::vector<std::string> all = {"--network", "regtest", "--datadir", "/nonexistent/x"};
    all.insert(all.end(), args.begin(), args.end());
    EXPECT_FALSE(Parse(all, d, error)) << args[1];
    EXPECT_NE(error.find(expect), std::string::npos) << error;
  }
  node::DaemonConfig d;
  ASSERT_TRUE(Parse({"--network", "regtest", "--datadir", "/nonexistent/x"}, d, error)) << error;
  EXPECT_FALSE(d.node.reindex_chainstate);
  EXPECT_TRUE(d.network_options.whitelist.empty());
}
