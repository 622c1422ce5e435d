// dbopt's command line: serve MCP (stdio or HTTP), list tools, call one tool.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <malloc.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "core/common/error.h"
#include "server/app.h"
#include "server/chat.h"
#include "server/config_loader.h"
#include "server/http/http_transport.h"
#include "server/stdio_transport.h"

namespace {

using dbopt::server::App;
using Json = nlohmann::json;

dbopt::server::HttpTransport* g_http = nullptr;  // for the signal handler only

void configure_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("dbopt");  // stdout belongs to MCP
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(level));
}

// "127.0.0.1:8765", ":8765" or "8765" -> host, port.
std::pair<std::string, int> parse_address(const std::string& address, const std::string& default_host) {
  const auto colon = address.rfind(':');
  std::string host = colon == std::string::npos ? default_host : address.substr(0, colon);
  const std::string port_text = colon == std::string::npos ? address : address.substr(colon + 1);
  if (host.empty()) host = default_host;
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    size_t used = 0;
    const int port = std::stoi(port_text, &used);
    if (used == port_text.size() && port >= 0 && port <= 65535) return {host, port};
  } catch (const std::exception&) {
  }
  throw dbopt::Error(dbopt::ErrorCode::invalid_argument, "'" + address + "' is not an address.",
                     "Use HOST:PORT, e.g. --http 127.0.0.1:8765.");
}

int serve(App& app, const std::string& http_address) {
  if (http_address.empty()) {
    spdlog::info("serving MCP over stdio");
    dbopt::server::serve_stdio(app, std::cin, std::cout);
    return 0;
  }
  auto [host, port] = parse_address(http_address, app.settings().http.host);
  dbopt::Settings checked = app.settings();
  checked.http.host = host;
  dbopt::server::validate_settings(checked);
  dbopt::server::HttpTransport http(app);
  const int bound = http.bind(host, port);
  g_http = &http;
  std::signal(SIGINT, [](int) {
    if (g_http) g_http->stop();
  });
  std::signal(SIGTERM, [](int) {
    if (g_http) g_http->stop();
  });
  spdlog::info("serving MCP on http://{}:{}/mcp, REST on /v1/tools{}", host, bound,
               app.settings().http.bearer_token.empty() ? "" : " (bearer token required)");
  // A line on stdout for scripts that started us on port 0.
  std::printf("listening on http://%s:%d\n", host.c_str(), bound);
  std::fflush(stdout);
  http.listen();
  g_http = nullptr;
  return 0;
}

int list_tools(App& app, bool as_json) {
  if (as_json) {
    Json list = Json::array();
    for (const auto& t : app.tools().tools()) list.push_back(dbopt::tools::tool_descriptor(t));
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  for (const auto& t : app.tools().tools())
    std::cout << t.name << (t.implemented ? "" : "  [not implemented yet]") << "\n    " << t.title << "\n";
  return 0;
}

int call_tool(App& app, const std::string& name, std::string arguments_text, bool as_json) {
  const auto& limits = app.settings().limits;
  const auto max_bytes = static_cast<std::size_t>(limits.max_message_bytes);
  if (arguments_text == "-") {
    arguments_text.clear();
    char chunk[65536];
    while (std::cin.read(chunk, sizeof chunk) || std::cin.gcount() > 0) {
      if (arguments_text.size() + static_cast<std::size_t>(std::cin.gcount()) > max_bytes) {
        std::cerr << "error: the arguments on stdin exceed " << max_bytes
                  << " bytes (limits.max_message_bytes); send less, or raise limits.max_message_bytes in the config "
                     "file.\n";
        return 2;
      }
      arguments_text.append(chunk, static_cast<std::size_t>(std::cin.gcount()));
    }
  }
  if (arguments_text.size() > max_bytes) {
    std::cerr << "error: the arguments exceed " << max_bytes << " bytes (limits.max_message_bytes).\n";
    return 2;
  }
  dbopt::mcp::ParsedJson parsed = dbopt::mcp::parse_json_text(arguments_text, limits.max_json_depth);
  std::string().swap(arguments_text);
  if (!parsed.error.empty()) {
    std::cerr << "error: the arguments are not valid JSON: " << parsed.error
              << ". Example: dbopt call explain_query '{\"plan\": \"...\"}'\n";
    return 2;
  }
  const Json arguments = std::move(parsed.value);
  auto token = app.new_call_token();
  dbopt::tools::ToolResult result = app.call_tool(name, arguments, *token);
  if (as_json) {
    Json out = {{"isError", result.is_error}, {"markdown", result.markdown}};
    if (!result.is_error) out["structuredContent"] = result.structured;
    std::cout << out.dump(2) << "\n";
  } else {
    (result.is_error ? std::cerr : std::cout) << result.markdown << "\n";
  }
  return result.is_error ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A fixed mmap threshold: glibc raises it after each large free, so big
  // request buffers (plans, logs, rejected bodies) would stay in the heap and
  // fragment it; mapped, they go back to the system (bench/README.md, soak).
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // Two arenas, not glibc's 8 per core: each of httplib's worker threads would
  // otherwise grow an arena of its own, and the free space scattered over them
  // is never given back (the soak's creep after warm-up).
  mallopt(M_ARENA_MAX, 2);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished HTTP client must not kill the server
  CLI::App cli{"dbopt: a PostgreSQL performance optimizer for AI assistants (MCP), HTTP and the terminal."};
  cli.require_subcommand(1);
  std::string config_path, log_level;
  cli.add_option("--config", config_path, "JSON config file (see config/README.md); also DBOPT_CONFIG");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (logs go to stderr)");
  cli.set_version_flag("--version", std::string("dbopt ") + DBOPT_VERSION);

  auto* serve_cmd = cli.add_subcommand("serve", "Serve MCP over stdio (default) or Streamable HTTP with REST");
  std::string http_address;
  serve_cmd->add_option("--http", http_address, "Serve HTTP on HOST:PORT instead of stdio (e.g. 127.0.0.1:8765)");

  auto* tools_cmd = cli.add_subcommand("tools", "List the tools");
  bool tools_json = false;
  tools_cmd->add_flag("--json", tools_json, "Print the tools as MCP lists them (JSON)");

  auto* call_cmd = cli.add_subcommand("call", "Run one tool and print its answer");
  std::string tool_name, arguments = "{}";
  bool call_json = false;
  call_cmd->add_option("tool", tool_name, "Tool name (see `dbopt tools`)")->required();
  call_cmd->add_option("arguments", arguments, "The tool's arguments as a JSON object, or - to read them from stdin");
  call_cmd->add_flag("--json", call_json, "Print the structured result as JSON");

  auto* chat_cmd =
      cli.add_subcommand("chat", "Work through a slow database interactively (paste SQL, plans, log paths)");
  std::string chat_database;
  chat_cmd->add_option("--database", chat_database, "The configured database to start with");

  CLI11_PARSE(cli, argc, argv);

  try {
    dbopt::Settings settings = dbopt::server::load_settings(config_path, dbopt::server::process_environment());
    if (!log_level.empty()) settings.log_level = log_level;
    configure_logging(settings.log_level);
    dbopt::server::validate_settings(settings);
    App app(std::move(settings));
    if (*serve_cmd) return serve(app, http_address);
    if (*tools_cmd) return list_tools(app, tools_json);
    if (*chat_cmd) {
      dbopt::server::Chat chat(app, std::cout);
      if (!chat_database.empty()) chat.handle("/db " + chat_database);
      return chat.run(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO), std::cin);
    }
    return call_tool(app, tool_name, arguments, call_json);
  } catch (const dbopt::Error& e) {
    std::cerr << "error: " << e.describe() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
