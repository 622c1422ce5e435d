#include "linear/linear_client.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <regex>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/common/error.h"

namespace dbopt::linear {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Every document below is checked against Linear's published schema by the
// stand-in the tests run against (tests/linear-standin).
constexpr const char* kIssueFields =
    "id identifier title url priority description createdAt updatedAt "
    "state { name type } team { key }";

const std::string kTeamsQuery = "query DbOptTeams { teams(first: 250) { nodes { id key name } } }";
const std::string kTeamQuery =
    "query DbOptTeam($id: String!) { team(id: $id) { id key name "
    "states(first: 100) { nodes { id name type position } } "
    "labels(first: 250) { nodes { id name } } "
    "projects(first: 250) { nodes { id name } } } }";
const std::string kLabelCreate =
    "mutation DbOptLabelCreate($input: IssueLabelCreateInput!) { "
    "issueLabelCreate(input: $input) { success issueLabel { id name } } }";
const std::string kIssueCreate =
    "mutation DbOptIssueCreate($input: IssueCreateInput!) { "
    "issueCreate(input: $input) { success issue { " +
    std::string(kIssueFields) + " } } }";
const std::string kIssuesQuery =
    "query DbOptIssues($filter: IssueFilter!, $first: Int!) { "
    "issues(filter: $filter, first: $first) { nodes { " +
    std::string(kIssueFields) + " } } }";
const std::string kSearchQuery =
    "query DbOptSearchIssues($term: String!, $filter: IssueFilter, $first: Int, $teamId: String) { "
    "searchIssues(term: $term, filter: $filter, first: $first, teamId: $teamId) { nodes { " +
    std::string(kIssueFields) + " } } }";
const std::string kIssueComments =
    "query DbOptIssueComments($id: String!) { issue(id: $id) { comments(first: 100) { nodes { id url body } } } }";
const std::string kCommentCreate =
    "mutation DbOptCommentCreate($input: CommentCreateInput!) { "
    "commentCreate(input: $input) { success comment { id url } } }";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// What one HTTP exchange came to.
struct Outcome {
  enum Kind { ok, rate_limited, retryable, fatal } kind = fatal;
  Json data;                         // ok
  std::optional<milliseconds> wait;  // rate_limited: until the reset
  std::string message;               // otherwise: what went wrong (no secrets)
  ErrorCode code = ErrorCode::unavailable;
  std::string fix;
  bool maybe_applied = false;  // the request may have reached Linear (timeout, 5xx)
};

std::string error_messages(const Json& errors) {
  std::string text;
  for (const auto& e : errors) {
    std::string m = e.value("message", "");
    if (e.contains("extensions") && e["extensions"].is_object()) {
      const auto& x = e["extensions"];
      if (x.contains("userPresentableMessage") && x["userPresentableMessage"].is_string() &&
          x["userPresentableMessage"].get<std::string>() != m)
        m += " (" + x["userPresentableMessage"].get<std::string>() + ")";
    }
    text += (text.empty() ? "" : "; ") + m;
  }
  return text;
}

bool has_error_code(const Json& errors, const std::string& code) {
  for (const auto& e : errors) {
    if (!e.contains("extensions") || !e["extensions"].is_object()) continue;
    const auto& x = e["extensions"];
    if (x.value("code", "") == code) return true;
    if (code == "AUTHENTICATION_ERROR" && lower(x.value("type", "")) == "authentication error") return true;
    if (code == "RATELIMITED" && lower(x.value("type", "")) == "ratelimited") return true;
  }
  return false;
}

// X-RateLimit-*-Reset is epoch milliseconds; Retry-After is seconds.
std::optional<milliseconds> rate_limit_wait(const httplib::Response& res) {
  std::optional<long long> reset_epoch_ms;
  for (const char* name :
       {"X-RateLimit-Requests-Reset", "X-RateLimit-Complexity-Reset", "X-RateLimit-Endpoint-Reset"}) {
    if (!res.has_header(name)) continue;
    try {
      long long v = std::stoll(res.get_header_value(name));
      // Only the limits actually exhausted matter; without "Remaining" assume this one is.
      std::string remaining_name = std::string(name).replace(std::string(name).rfind("Reset"), 5, "Remaining");
      if (res.has_header(remaining_name.c_str()) && res.get_header_value(remaining_name.c_str()) != "0") continue;
      reset_epoch_ms = std::max(reset_epoch_ms.value_or(0), v);
    } catch (const std::exception&) {
    }
  }
  if (reset_epoch_ms) {
    const long long now =
        std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    return milliseconds(std::max(0LL, *reset_epoch_ms - now));
  }
  if (res.has_header("Retry-After")) {
    try {
      return milliseconds(std::stoll(res.get_header_value("Retry-After")) * 1000);
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

struct Endpoint {
  std::string base;  // scheme://host[:port]
  std::string path;
};

Endpoint parse_endpoint(const std::string& url) {
  static const std::regex pattern(R"(^(https?://[^/]+)(/.*)?$)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(url, m, pattern))
    throw Error(ErrorCode::invalid_argument, "The Linear endpoint '" + url + "' is not an http(s) URL.",
                "Set linear.endpoint (or LINEAR_API_URL) to https://api.linear.app/graphql.");
  return {m[1].str(), m[2].matched ? m[2].str() : "/"};
}

}  // namespace

struct LinearClient::Impl {
  LinearSettings settings;
  ClientOptions options;
  Endpoint endpoint;
  int requests = 0;

  std::string authorization() const {
    return settings.oauth_token.empty() ? settings.api_key : "Bearer " + settings.oauth_token;
  }

  Outcome exchange(const std::string& document, const Json& variables, const CancellationToken& cancel) {
    cancel.check();
    milliseconds timeout = options.request_timeout;
    if (cancel.deadline() != CancellationToken::Clock::time_point::max())
      timeout = std::min(timeout, milliseconds(std::max(1LL, cancel.remaining_ms())));
    httplib::Client http(endpoint.base);
    http.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    http.set_read_timeout(timeout);
    http.set_write_timeout(timeout);
    if (std::filesystem::exists("/etc/ssl/certs/ca-certificates.crt"))
      http.set_ca_cert_path("/etc/ssl/certs/ca-certificates.crt");
    const httplib::Headers headers = {{"Authorization", authorization()}, {"User-Agent", "dbopt"}};
    const Json body = {{"query", document}, {"variables", variables}};
    ++requests;
    // A cancelled call must not wait for Linear: stop() from another thread
    // shuts the socket down, and the request fails at once.
    std::mutex mutex;
    std::condition_variable wake;
    bool answered = false;
    std::thread watcher([&] {
      std::unique_lock lock(mutex);
      while (!wake.wait_for(lock, milliseconds(20), [&] { return answered; })) {
        if (cancel.cancelled()) {
          http.stop();
          return;
        }
      }
    });
    auto res = http.Post(endpoint.path, headers, body.dump(), "application/json");
    {
      std::lock_guard lock(mutex);
      answered = true;
    }
    wake.notify_one();
    watcher.join();
    if (cancel.cancelled()) cancel.check();
    if (!res && cancel.expired())
      throw Error(ErrorCode::deadline_exceeded,
                  "Linear did not answer within the call's time limit (" + std::to_string(timeout.count()) + " ms).",
                  "Check that Linear is reachable (https://linearstatus.com), or raise limits.tool_timeout_ms.");
    Outcome out;
    if (!res) {
      const auto err = res.error();
      out.kind = Outcome::retryable;
      out.maybe_applied = err == httplib::Error::Read || err == httplib::Error::Write;
      out.message = err == httplib::Error::Read
                        ? "Linear did not answer within " + std::to_string(timeout.count()) + " ms"
                        : "cannot reach Linear at " + endpoint.base + " (" + httplib::to_string(err) + ")";
      if (err == httplib::Error::SSLServerVerification || err == httplib::Error::SSLLoadingCerts)
        out.kind = Outcome::fatal;
      return out;
    }
    Json answer = Json::parse(res->body, nullptr, false);
    const Json errors = answer.is_object() && answer.contains("errors") && answer["errors"].is_array()
                            ? answer["errors"]
                            : Json::array();
    if (res->status == 429 || has_error_code(errors, "RATELIMITED")) {
      out.kind = Outcome::rate_limited;
      out.wait = rate_limit_wait(*res);
      out.message = "Linear is rate limiting this key (HTTP " + std::to_string(res->status) + ")";
      return out;
    }
    if (res->status >= 500) {
      out.kind = Outcome::retryable;
      out.maybe_applied = true;
      out.message =
          "Linear answered HTTP " + std::to_string(res->status) + (errors.empty() ? "" : ": " + error_messages(errors));
      return out;
    }
    if (res->status == 401 || res->status == 403 || has_error_code(errors, "AUTHENTICATION_ERROR")) {
      out.code = ErrorCode::permission_denied;
      out.message = "Linear refused the credentials (" +
                    (errors.empty() ? "HTTP " + std::to_string(res->status) : error_messages(errors)) + ").";
      out.fix = settings.oauth_token.empty()
                    ? "Check the personal API key in LINEAR_API_KEY (or linear.api_key): create one at "
                      "https://linear.app/settings/account/security; it is sent as is, without 'Bearer'."
                    : "Check the OAuth token in LINEAR_OAUTH_TOKEN (or linear.oauth_token); it may have expired.";
      return out;
    }
    if (!answer.is_object()) {
      out.kind = res->status == 200 ? Outcome::fatal : Outcome::retryable;
      out.message = "Linear answered HTTP " + std::to_string(res->status) + " with a body that is not JSON";
      return out;
    }
    if (!errors.empty() || res->status != 200) {
      out.code =
          has_error_code(errors, "GRAPHQL_VALIDATION_FAILED") ? ErrorCode::internal : ErrorCode::invalid_argument;
      out.message = "Linear refused the request: " +
                    (errors.empty() ? "HTTP " + std::to_string(res->status) : error_messages(errors));
      if (out.code == ErrorCode::internal) out.fix = "This is a bug in dbopt's Linear client; please report it.";
      return out;
    }
    out.kind = Outcome::ok;
    out.data = answer.value("data", Json::object());
    return out;
  }

  // Waits `wait`, waking to honour cancellation; refuses waits past the deadline.
  void sleep_for(milliseconds wait, const CancellationToken& cancel, const std::string& why) {
    if (cancel.deadline() != CancellationToken::Clock::time_point::max() && Clock::now() + wait >= cancel.deadline())
      throw Error(ErrorCode::deadline_exceeded,
                  why + "; waiting " + std::to_string(wait.count()) + " ms to retry would pass the call's time limit.",
                  "Try again later.");
    const auto until = Clock::now() + wait;
    while (Clock::now() < until) {
      cancel.check();
      std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(50), until - Clock::now()));
    }
  }

  // Runs one operation with retries. `before_retry` runs before a retry that
  // follows an answer the request may have been applied behind (timeout,
  // 5xx): when it returns data, that is the result and nothing is re-sent.
  Json run(const std::string& what, const std::string& document, const Json& variables, const CancellationToken& cancel,
           const std::function<std::optional<Json>()>& before_retry = {}) {
    milliseconds backoff = options.initial_backoff;
    bool check_before_resend = false;
    for (int attempt = 1;; ++attempt) {
      if (check_before_resend && before_retry) {
        if (auto done = before_retry()) return *done;
      }
      Outcome out = exchange(document, variables, cancel);
      if (out.kind == Outcome::ok) return out.data;
      if (out.kind == Outcome::fatal) throw Error(out.code, "Linear " + what + ": " + out.message, out.fix);
      check_before_resend = check_before_resend || out.maybe_applied;
      if (attempt >= options.max_attempts)
        throw Error(ErrorCode::unavailable,
                    "Linear " + what + " failed after " + std::to_string(attempt) + " attempts: " + out.message + ".",
                    out.kind == Outcome::rate_limited ? "Wait for Linear's rate limit to reset and try again."
                                                      : "Check that Linear is reachable and try again.");
      milliseconds wait = backoff;
      if (out.kind == Outcome::rate_limited) {
        wait = out.wait.value_or(backoff);
        if (wait > options.max_rate_limit_wait)
          throw Error(
              ErrorCode::unavailable,
              "Linear " + what + ": " + out.message + " for another " + std::to_string(wait.count() / 1000) + " s.",
              "Wait for Linear's rate limit to reset and try again.");
        wait += milliseconds(50);  // land after the reset, not on it
      }
      spdlog::warn("linear: {} attempt {} failed ({}); retrying in {} ms", what, attempt, out.message, wait.count());
      sleep_for(wait, cancel, "Linear " + what + ": " + out.message);
      backoff *= 2;
    }
  }

  std::vector<Issue> issues_where(const Json& filter, int limit, const CancellationToken& cancel) {
    Json data = run("issue lookup", kIssuesQuery, {{"filter", filter}, {"first", limit}}, cancel);
    std::vector<Issue> out;
    for (const auto& n : data["issues"]["nodes"]) out.push_back(read_issue(n));
    return out;
  }

  static Issue read_issue(const Json& n) {
    Issue i;
    i.id = n.value("id", "");
    i.identifier = n.value("identifier", "");
    i.title = n.value("title", "");
    i.url = n.value("url", "");
    if (n.contains("description") && n["description"].is_string()) i.description = n["description"];
    if (n.contains("priority") && n["priority"].is_number()) i.priority = static_cast<int>(n["priority"].get<double>());
    if (n.contains("state") && n["state"].is_object()) {
      i.state_name = n["state"].value("name", "");
      i.state_type = n["state"].value("type", "");
    }
    if (n.contains("team") && n["team"].is_object()) i.team_key = n["team"].value("key", "");
    i.created_at = n.value("createdAt", "");
    i.updated_at = n.value("updatedAt", "");
    return i;
  }
};

namespace {
Json team_filter(const std::string& team_id, bool include_closed) {
  Json filter = {{"team", {{"id", {{"eq", team_id}}}}}};
  if (!include_closed) filter["state"] = {{"type", {{"nin", {"completed", "canceled"}}}}};
  return filter;
}
}  // namespace

LinearClient::LinearClient(const LinearSettings& settings, ClientOptions options)
    : impl_(std::make_unique<Impl>(Impl{settings, options, parse_endpoint(settings.endpoint)})) {
  if (!has_credentials(settings))
    throw Error(ErrorCode::invalid_argument, "No Linear API key is configured.", how_to_configure());
  if (impl_->options.max_attempts < 1) impl_->options.max_attempts = 1;
}

LinearClient::~LinearClient() = default;

int LinearClient::requests_sent() const { return impl_->requests; }

std::vector<TeamSummary> LinearClient::teams(const CancellationToken& cancel) {
  Json data = impl_->run("team list", kTeamsQuery, Json::object(), cancel);
  std::vector<TeamSummary> out;
  for (const auto& t : data["teams"]["nodes"])
    out.push_back({t.value("id", ""), t.value("key", ""), t.value("name", "")});
  return out;
}

Team LinearClient::team(const std::string& key_or_id, const CancellationToken& cancel) {
  const auto all = teams(cancel);
  auto found = std::find_if(all.begin(), all.end(), [&](const TeamSummary& t) {
    return t.id == key_or_id || lower(t.key) == lower(key_or_id);
  });
  if (found == all.end()) {
    std::string names;
    for (const auto& t : all) names += (names.empty() ? "" : ", ") + t.key + " (" + t.name + ")";
    throw Error(ErrorCode::not_found,
                "Linear has no team '" + key_or_id +
                    "' visible to this key; it sees: " + (names.empty() ? "no teams at all" : names) + ".",
                "Pass `team` as one of those keys, or set linear.team_key in the config.");
  }
  Json data = impl_->run("team details", kTeamQuery, {{"id", found->id}}, cancel);
  const Json& t = data["team"];
  Team team{t.value("id", ""), t.value("key", ""), t.value("name", ""), {}, {}, {}};
  for (const auto& s : t["states"]["nodes"])
    team.states.push_back({s.value("id", ""), s.value("name", ""), s.value("type", ""), s.value("position", 0.0)});
  std::sort(team.states.begin(), team.states.end(),
            [](const WorkflowState& a, const WorkflowState& b) { return a.position < b.position; });
  for (const auto& l : t["labels"]["nodes"]) team.labels.push_back({l.value("id", ""), l.value("name", "")});
  for (const auto& p : t["projects"]["nodes"]) team.projects.push_back({p.value("id", ""), p.value("name", "")});
  return team;
}

Label LinearClient::create_label(const std::string& team_id, const std::string& name, const std::string& color,
                                 const CancellationToken& cancel) {
  const Json input = {{"teamId", team_id}, {"name", name}, {"color", color}};
  // A retry after a lost answer may hit "already exists": look the label up then.
  auto find_existing = [&]() -> std::optional<Json> {
    Json data = impl_->run("team details", kTeamQuery, {{"id", team_id}}, cancel);
    for (const auto& l : data["team"]["labels"]["nodes"])
      if (lower(l.value("name", "")) == lower(name))
        return Json{{"issueLabelCreate", {{"success", true}, {"issueLabel", l}}}};
    return std::nullopt;
  };
  Json data = impl_->run("label creation", kLabelCreate, {{"input", input}}, cancel, find_existing);
  const Json& l = data["issueLabelCreate"]["issueLabel"];
  return {l.value("id", ""), l.value("name", "")};
}

Issue LinearClient::create_issue(const IssueInput& input, const std::string& fingerprint_line,
                                 const CancellationToken& cancel) {
  if (input.description.find(fingerprint_line) == std::string::npos)
    throw Error(ErrorCode::internal, "create_issue: the fingerprint line is not in the description.");
  Json in = {{"teamId", input.team_id}, {"title", input.title}, {"description", input.description}};
  if (input.priority) in["priority"] = *input.priority;
  if (!input.label_ids.empty()) in["labelIds"] = input.label_ids;
  if (input.state_id) in["stateId"] = *input.state_id;
  if (input.project_id) in["projectId"] = *input.project_id;
  if (input.assignee_id) in["assigneeId"] = *input.assignee_id;
  if (input.estimate) in["estimate"] = *input.estimate;
  // An earlier attempt may have created the issue although its answer was
  // lost: find it by the fingerprint before sending issueCreate again.
  auto already_created = [&]() -> std::optional<Json> {
    Json filter = team_filter(input.team_id, true);
    filter["description"] = {{"contains", fingerprint_line}};
    Json data = impl_->run("issue lookup", kIssuesQuery, {{"filter", filter}, {"first", 1}}, cancel);
    const Json& nodes = data["issues"]["nodes"];
    if (nodes.empty()) return std::nullopt;
    spdlog::info("linear: an earlier attempt created {}; not creating it again", nodes[0].value("identifier", "?"));
    return Json{{"issueCreate", {{"success", true}, {"issue", nodes[0]}}}};
  };
  Json data = impl_->run("issue creation", kIssueCreate, {{"input", in}}, cancel, already_created);
  const Json& payload = data["issueCreate"];
  if (!payload.value("success", false) || !payload.contains("issue") || !payload["issue"].is_object())
    throw Error(ErrorCode::unavailable, "Linear did not confirm the issue creation.", "Try again.");
  return Impl::read_issue(payload["issue"]);
}

std::vector<Issue> LinearClient::issues_containing(const std::string& team_id, const std::string& text,
                                                   bool include_closed, int limit, const CancellationToken& cancel) {
  Json filter = team_filter(team_id, include_closed);
  filter["description"] = {{"contains", text}};
  return impl_->issues_where(filter, limit, cancel);
}

std::vector<Issue> LinearClient::search_issues(const std::string& team_id, const std::string& term, bool include_closed,
                                               int limit, const CancellationToken& cancel) {
  Json vars = {{"term", term}, {"filter", team_filter(team_id, include_closed)}, {"first", limit}, {"teamId", team_id}};
  Json data = impl_->run("issue search", kSearchQuery, vars, cancel);
  std::vector<Issue> out;
  for (const auto& n : data["searchIssues"]["nodes"]) out.push_back(Impl::read_issue(n));
  return out;
}

Comment LinearClient::add_comment(const std::string& issue_id, const std::string& body,
                                  const CancellationToken& cancel) {
  // As with issues: a retry after a lost answer first looks for the comment.
  auto already_added = [&]() -> std::optional<Json> {
    Json data = impl_->run("comment lookup", kIssueComments, {{"id", issue_id}}, cancel);
    for (const auto& c : data["issue"]["comments"]["nodes"])
      if (c.value("body", "") == body) return Json{{"commentCreate", {{"success", true}, {"comment", c}}}};
    return std::nullopt;
  };
  Json data = impl_->run("comment", kCommentCreate, {{"input", {{"issueId", issue_id}, {"body", body}}}}, cancel,
                         already_added);
  const Json& c = data["commentCreate"]["comment"];
  return {c.value("id", ""), c.value("url", "")};
}

bool has_credentials(const LinearSettings& settings) {
  return !settings.api_key.empty() || !settings.oauth_token.empty();
}

std::string how_to_configure() {
  return "Set LINEAR_API_KEY to a Linear personal API key (Linear > Settings > Security & access > Personal API "
         "keys), or LINEAR_OAUTH_TOKEN to an OAuth access token, or put linear.api_key in the config file "
         "(config/README.md); the team is linear.team_key (default PERF).";
}

}  // namespace dbopt::linear
