#include "meter/scenario_io.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace wattline::meter {

namespace {

using nlohmann::json;

std::string Where(std::size_t p, std::size_t k) {
  return "prosumers[" + std::to_string(p) + "].appliances[" + std::to_string(k) + "]";
}

// A JSON number as a double (integers too); nullopt for anything else.
std::optional<double> AsNumber(const json& v) {
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}

std::optional<int> AsSlot(const json& v) {
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    return static_cast<int>(std::clamp<std::int64_t>(i, -1'000'000'000, 1'000'000'000));
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d)) return static_cast<int>(std::clamp(d, -1e9, 1e9));
  }
  return std::nullopt;
}

}  // namespace

Result<Scenario> ParseScenarioJson(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return Result<Scenario>::Error(std::string("JSON syntax error: ") + e.what());
  }
  if (!doc.is_object()) return Result<Scenario>::Error("the scenario must be a JSON object");
  Scenario s;
  if (doc.contains("slots")) {
    auto v = AsSlot(doc["slots"]);
    if (!v) return Result<Scenario>::Error("\"slots\" must be an integer");
    s.slots = *v;
  }
  if (doc.contains("price")) {
    const json& p = doc["price"];
    if (!p.is_object()) return Result<Scenario>::Error("\"price\" must be an object {\"a\":..,\"b\":..,\"c\":..}");
    for (const char* key : {"a", "b", "c"}) {
      if (!p.contains(key)) continue;
      auto v = AsNumber(p[key]);
      if (!v) return Result<Scenario>::Error(std::string("price.") + key + " must be a number");
      (key[0] == 'a' ? s.price.a : key[0] == 'b' ? s.price.b : s.price.c) = *v;
    }
  }
  if (!doc.contains("prosumers") || !doc["prosumers"].is_array()) {
    return Result<Scenario>::Error("\"prosumers\" must be an array");
  }
  bool any_name = false;
  std::vector<Appliance> apps;
  std::vector<std::string> names;
  for (std::size_t p = 0; p < doc["prosumers"].size(); ++p) {
    const json& pj = doc["prosumers"][p];
    if (!pj.is_object()) return Result<Scenario>::Error("prosumers[" + std::to_string(p) + "] must be an object");
    std::string name;
    if (pj.contains("name")) {
      if (!pj["name"].is_string()) return Result<Scenario>::Error("prosumers[" + std::to_string(p) + "].name must be a string");
      name = pj["name"].get<std::string>();
      any_name = true;
    }
    if (!pj.contains("appliances") || !pj["appliances"].is_array()) {
      return Result<Scenario>::Error("prosumers[" + std::to_string(p) + "].appliances must be an array");
    }
    apps.clear();
    names.clear();
    for (std::size_t k = 0; k < pj["appliances"].size(); ++k) {
      const json& aj = pj["appliances"][k];
      if (!aj.is_object()) return Result<Scenario>::Error(Where(p, k) + " must be an object");
      Appliance a;
      if (!aj.contains("energy")) return Result<Scenario>::Error(Where(p, k) + ".energy is missing");
      auto e = AsNumber(aj["energy"]);
      if (!e) return Result<Scenario>::Error(Where(p, k) + ".energy must be a number (kWh)");
      a.energy = *e;
      for (const char* key : {"first", "last"}) {
        if (!aj.contains(key)) return Result<Scenario>::Error(Where(p, k) + "." + key + " is missing");
        auto v = AsSlot(aj[key]);
        if (!v) return Result<Scenario>::Error(Where(p, k) + "." + key + " must be an integer slot (0-based)");
        (key[0] == 'f' ? a.first : a.last) = *v;
      }
      if (aj.contains("cap") && !aj["cap"].is_null()) {
        auto c = AsNumber(aj["cap"]);
        if (!c) return Result<Scenario>::Error(Where(p, k) + ".cap must be a number (kWh per slot) or null");
        a.cap = *c;  // +inf (an overflowing literal) means no cap, like null
      }
      std::string an;
      if (aj.contains("name")) {
        if (!aj["name"].is_string()) return Result<Scenario>::Error(Where(p, k) + ".name must be a string");
        an = aj["name"].get<std::string>();
      }
      apps.push_back(a);
      names.push_back(an);
    }
    const bool any_app_name = std::any_of(names.begin(), names.end(), [](const std::string& n) { return !n.empty(); });
    s.AddProsumer(apps, name, any_app_name ? std::span<const std::string>(names) : std::span<const std::string>());
  }
  if (any_name) s.prosumer_names.resize(s.ProsumerCount());
  if (!s.appliance_names.empty()) s.appliance_names.resize(s.appliances.size());
  return s;
}

namespace {

std::vector<std::string_view> SplitCsv(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    out.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (auto& f : out) {
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t' || f.back() == '\r')) f.remove_suffix(1);
  }
  return out;
}

std::optional<double> ParseDouble(std::string_view f) {
  if (f.empty()) return std::nullopt;
  std::string tmp(f);
  char* end = nullptr;
  const double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size()) return std::nullopt;
  return v;
}

std::optional<int> ParseInt(std::string_view f) {
  long long v = 0;
  auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (ec != std::errc() || ptr != f.data() + f.size() || f.empty()) return std::nullopt;
  return static_cast<int>(std::clamp<long long>(v, -1'000'000'000, 1'000'000'000));
}

}  // namespace

Result<Scenario> ParseScenarioCsv(std::string_view text) {
  Scenario s;
  std::size_t line_no = 0;
  bool header_seen = false;
  std::string current;
  bool have_current = false;
  std::vector<Appliance> apps;
  std::vector<std::string> names;
  auto flush = [&] {
    if (!have_current) return;
    s.AddProsumer(apps, current, names);
    apps.clear();
    names.clear();
  };
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) {
      if (nl == text.size()) break;
      continue;
    }
    const std::string at = "line " + std::to_string(line_no) + ": ";
    if (line.front() == '#') {
      std::string_view rest = line.substr(1);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      const std::size_t eq = rest.find('=');
      if (eq == std::string_view::npos) continue;  // a plain comment
      std::string_view key = rest.substr(0, eq);
      std::string_view val = rest.substr(eq + 1);
      while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
      while (!val.empty() && val.front() == ' ') val.remove_prefix(1);
      if (key == "slots") {
        auto v = ParseInt(val);
        if (!v) return Result<Scenario>::Error(at + "slots must be an integer");
        s.slots = *v;
      } else if (key == "a" || key == "b" || key == "c") {
        auto v = ParseDouble(val);
        if (!v) return Result<Scenario>::Error(at + std::string(key) + " must be a number");
        (key == "a" ? s.price.a : key == "b" ? s.price.b : s.price.c) = *v;
      }
      continue;
    }
    auto f = SplitCsv(line);
    if (!header_seen) {
      header_seen = true;
      if (f.size() < 5 || f[0] != "prosumer" || f[2] != "energy" || f[3] != "first" || f[4] != "last") {
        return Result<Scenario>::Error(at + "expected the header prosumer,appliance,energy,first,last,cap");
      }
      continue;
    }
    if (f.size() < 5 || f.size() > 6) return Result<Scenario>::Error(at + "expected 5 or 6 comma-separated fields");
    Appliance a;
    auto e = ParseDouble(f[2]);
    if (!e) return Result<Scenario>::Error(at + "energy '" + std::string(f[2]) + "' is not a number");
    a.energy = *e;
    auto first = ParseInt(f[3]);
    auto last = ParseInt(f[4]);
    if (!first) return Result<Scenario>::Error(at + "first slot '" + std::string(f[3]) + "' is not an integer");
    if (!last) return Result<Scenario>::Error(at + "last slot '" + std::string(f[4]) + "' is not an integer");
    a.first = *first;
    a.last = *last;
    if (f.size() == 6 && !f[5].empty()) {
      auto c = ParseDouble(f[5]);
      if (!c) return Result<Scenario>::Error(at + "cap '" + std::string(f[5]) + "' is not a number");
      a.cap = *c;  // "inf" means no cap, like an empty field
    }
    const std::string pname(f[0]);
    if (!have_current || pname != current) {
      flush();
      current = pname;
      have_current = true;
    }
    apps.push_back(a);
    names.emplace_back(f[1]);
  }
  if (!header_seen) return Result<Scenario>::Error("empty CSV: expected the header prosumer,appliance,energy,first,last,cap");
  flush();
  return s;
}

Result<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<Scenario>::Error("cannot open scenario file '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Result<Scenario>::Error("cannot read scenario file '" + path + "'");
  const std::string text = buf.str();
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  Result<Scenario> r = csv ? ParseScenarioCsv(text) : ParseScenarioJson(text);
  if (!r.ok()) return Result<Scenario>::Error(path + ": " + r.error());
  return r;
}

std::string ScenarioToJson(const Scenario& s) {
  json doc;
  doc["slots"] = s.slots;
  doc["price"] = {{"a", s.price.a}, {"b", s.price.b}, {"c", s.price.c}};
  json ps = json::array();
  for (std::size_t p = 0; p < s.ProsumerCount(); ++p) {
    json pj;
    if (p < s.prosumer_names.size()) pj["name"] = s.prosumer_names[p];
    json as = json::array();
    auto apps = s.AppliancesOf(p);
    for (std::size_t k = 0; k < apps.size(); ++k) {
      json aj;
      const std::size_t g = s.prosumer_begin[p] + k;
      if (g < s.appliance_names.size() && !s.appliance_names[g].empty()) aj["name"] = s.appliance_names[g];
      aj["energy"] = apps[k].energy;
      aj["first"] = apps[k].first;
      aj["last"] = apps[k].last;
      if (apps[k].HasCap()) aj["cap"] = apps[k].cap;
      as.push_back(std::move(aj));
    }
    pj["appliances"] = std::move(as);
    ps.push_back(std::move(pj));
  }
  doc["prosumers"] = std::move(ps);
  return doc.dump(1) + "\n";
}

std::string ScenarioToCsv(const Scenario& s) {
  std::ostringstream out;
  out.precision(17);
  out << "# slots=" << s.slots << "\n# a=" << s.price.a << "\n# b=" << s.price.b << "\n# c=" << s.price.c << "\n";
  out << "prosumer,appliance,energy,first,last,cap\n";
  for (std::size_t p = 0; p < s.ProsumerCount(); ++p) {
    const std::string pname = p < s.prosumer_names.size() && !s.prosumer_names[p].empty() ? s.prosumer_names[p]
                                                                                          : "p" + std::to_string(p);
    auto apps = s.AppliancesOf(p);
    for (std::size_t k = 0; k < apps.size(); ++k) {
      const std::size_t g = s.prosumer_begin[p] + k;
      const std::string an = g < s.appliance_names.size() && !s.appliance_names[g].empty() ? s.appliance_names[g]
                                                                                            : "a" + std::to_string(k);
      out << pname << "," << an << "," << apps[k].energy << "," << apps[k].first << "," << apps[k].last << ",";
      if (apps[k].HasCap()) out << apps[k].cap;
      out << "\n";
    }
  }
  return out.str();
}

Scenario GeneratePaperScenario(const PaperScenarioOptions& o) {
  Scenario s;
  s.slots = 24;
  s.price = PriceModel{1, 1, 1};
  s.appliances.reserve(o.prosumers * 5);
  s.prosumer_begin.reserve(o.prosumers + 1);
  if (o.names) {
    s.prosumer_names.reserve(o.prosumers);
    s.appliance_names.reserve(o.prosumers * 5);
  }
  for (std::size_t i = 0; i < o.prosumers; ++i) {
    SplitMix64 rng(o.seed ^ (static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull));
    for (std::size_t n = 0; n < 5; ++n) {
      const PaperAppliance& t = kPaperTable[n];
      Appliance a{t.energy, t.first, t.last, kNoCap};
      if (o.randomise) {
        a.energy = t.energy * (0.5 + rng.Uniform());
        a.first = std::clamp(t.first + rng.Between(-2, 2), 0, 23);
        a.last = std::clamp(t.last + rng.Between(-2, 2), 0, 23);
        if (a.first > a.last) std::swap(a.first, a.last);
      }
      if (o.capped_every > 0 && s.appliances.size() % o.capped_every == 0) {
        a.cap = std::ceil(1.5 * a.energy / a.WindowLength() / 25.0) * 25.0;
      }
      s.appliances.push_back(a);
      if (o.names) s.appliance_names.push_back("a" + std::to_string(n + 1));
    }
    s.prosumer_begin.push_back(s.appliances.size());
    if (o.names) s.prosumer_names.push_back("p" + std::to_string(i));
  }
  return s;
}

}  // namespace wattline::meter
