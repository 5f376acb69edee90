// SPDX-License-Identifier: MIT
// pytrace_view: serves the interactive viewer (web/) for one trace document,
// on 127.0.0.1 unless told otherwise, until Ctrl-C.
//
//   GET  /, /viewer.js, ...         the page: web/, compiled in
//   GET  /api/previews?calls=ID,... each call's arguments in a line
//   GET  /api/model                 the trace as columns (view_model.h)
//   GET  /api/entry/ID              one entry's JSON, as written in the trace
//   POST /api/save                  {filename, ranges, filters, overwrite}: a
//                                   filtered trace next to the original
//   POST /api/export                {format, ranges}: those calls in another
//                                   format (trace_export.h), as a download
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <streambuf>
#include <thread>

#include "core/error.h"
#include "core/local_time.h"
#include "filtered_trace.h"
#include "io/compression.h"
#include "trace_document.h"
#include "trace_export.h"
#include "view_model.h"
#include "view_options.h"
#include "web_assets.h"

namespace fs = std::filesystem;
using namespace pytrace;
using namespace pytrace::viewer;

namespace {

constexpr const char* kTool = "pytrace_view";

// A request the page got wrong, or one that cannot be done: answered as
// {"error": message} with this status.
struct HttpError {
  int status;
  std::string message;
  bool exists = false;  // the file to save exists (the page may ask to overwrite)
};

void reply_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

// Limits that keep one client from holding the server: requests are small
// (a save sends ranges of call ids), connections that idle or trickle are
// dropped, and there are threads enough for the browser's six connections
// many times over.
constexpr size_t kMaxRequestBytes = 16u << 20;
constexpr size_t kThreads = 64;
constexpr time_t kReadTimeoutS = 2;
constexpr time_t kKeepAliveS = 1;
// Argument previews: how many a request may ask for, and how long each is.
constexpr size_t kMaxPreviews = 500;
constexpr size_t kPreviewBytes = 120;

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The host part of a Host header ("localhost:8080", "[::1]:8080"), lowercased.
std::string host_name(const std::string& header) {
  if (header.starts_with('[')) return lowercase(header.substr(0, header.find(']') + 1));
  return lowercase(header.substr(0, header.find(':')));
}

bool is_ip_literal(const std::string& name) {
  unsigned char address[sizeof(in6_addr)];
  if (name.size() > 2 && name.front() == '[' && name.back() == ']')
    return inet_pton(AF_INET6, name.substr(1, name.size() - 2).c_str(), address) == 1;
  return inet_pton(AF_INET, name.c_str(), address) == 1;
}

// Whether `host` (an address or a name) means only this machine's loopback
// interface: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, or a name that
// resolves to nothing else.
bool is_loopback_address(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return false;
  bool all = found != nullptr;
  for (addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      all &= (ntohl(reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr.s_addr) >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      const in6_addr& v6 = reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr;
      all &= IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    } else {
      all = false;
    }
  }
  freeaddrinfo(found);
  return all;
}

// The names a request's Host header may carry. A page the user opens in a
// browser can point a name of its own at this address (DNS rebinding) and
// have the browser send requests here under that name; so names are
// allowed one by one, while a numeric address (which no rebinding can
// produce) always is.
class HostRules {
 public:
  HostRules(const std::string& listen, const std::vector<std::string>& allowed) {
    bool wildcard = listen == "0.0.0.0" || listen == "::" || listen == "[::]";
    bool loopback = is_loopback_address(listen);
    if (!is_ip_literal(listen) && !is_ip_literal("[" + listen + "]")) names_.insert(lowercase(listen));
    if (wildcard || loopback) names_.insert("localhost");
    if (!loopback) {  // reached from elsewhere: by this machine's name too
      char hostname[256] = {};
      if (gethostname(hostname, sizeof hostname - 1) == 0 && *hostname) names_.insert(lowercase(hostname));
    }
    for (const std::string& name : allowed) names_.insert(lowercase(name));
  }

  bool allows(const std::string& host_header) const {
    std::string name = host_name(host_header);
    if (!name.empty() && name.back() == '.') name.pop_back();  // "localhost." is localhost
    return is_ip_literal(name) || names_.count(name) != 0;
  }

 private:
  std::set<std::string> names_;
};

// The trace's name without ".json", and without ".gz"/".zst" before it.
std::string trace_stem(const fs::path& trace) {
  fs::path name_of_json = compression_for_name(trace.string()) == Compression::kNone ? trace : trace.stem();
  return name_of_json.stem().string();
}

// TRACE.trace.json, TRACE.speedscope.json, TRACE.folded (for TRACE.json.gz
// too), offered in a header: characters other than letters, digits, '.',
// '-' and '_' become '_'.
std::string suggested_export_name(const fs::path& trace, ExportFormat format) {
  std::string name = trace_stem(trace) + std::string(export_suffix(format));
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  return name;
}

// The name offered for saving: TRACE_filtered.json, numbered if taken
// (for TRACE.json.gz too: saves are not compressed).
std::string suggested_save_name(const fs::path& trace) {
  std::string stem = trace_stem(trace);
  std::string name = stem + "_filtered.json";
  for (int n = 2; fs::exists(trace.parent_path() / name); ++n)
    name = stem + "_filtered_" + std::to_string(n) + ".json";
  return name;
}

// Writes what `produce` hands its writer as NAME in the directory of
// `trace`, whole or not at all: a temporary file first, then linked into
// place (which fails if the name is taken) or, to overwrite, renamed. Given
// `trace`'s owner when running as root (none when it does not exist). What
// `produce` throws passes through, the file removed.
using Producer = std::function<void(const std::function<void(std::string_view)>&)>;
void write_next_to(const fs::path& trace, const std::string& name, const Producer& produce, bool overwrite) {
  fs::path target = trace.parent_path() / name;
  static std::atomic<unsigned> counter{0};
  fs::path temp = trace.parent_path() /
                  ("." + name + ".partial-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    throw HttpError{500, "cannot write in " + trace.parent_path().string() + ": " + std::strerror(errno)};
  int error = 0;
  auto write_all = [&](std::string_view text) {
    for (size_t done = 0; done < text.size() && !error;) {
      ssize_t n = write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        error = n < 0 ? errno : EIO;
      else
        done += static_cast<size_t>(n);
    }
  };
  std::string buffer;  // pieces are small: written a megabyte at a time
  try {
    produce([&](std::string_view piece) {
      buffer += piece;
      if (buffer.size() >= (1u << 20)) {
        write_all(buffer);
        buffer.clear();
      }
    });
  } catch (...) {
    close(fd);
    unlink(temp.c_str());
    throw;
  }
  write_all(buffer);
  struct stat owner {};
  if (!error && geteuid() == 0 && stat(trace.c_str(), &owner) == 0 &&
      fchown(fd, owner.st_uid, owner.st_gid) != 0)
    error = errno;
  if (close(fd) != 0 && !error) error = errno;
  if (!error) {
    if (overwrite) {
      if (rename(temp.c_str(), target.c_str()) != 0) error = errno;
    } else if (link(temp.c_str(), target.c_str()) != 0) {
      error = errno;
    }
  }
  unlink(temp.c_str());
  if (error == EEXIST)
    throw HttpError{409, name + " already exists in " + trace.parent_path().string(), true};
  if (error) throw HttpError{500, "cannot write " + target.string() + ": " + std::strerror(error)};
}

class ViewServer {
 public:
  ViewServer(TraceDocument doc, fs::path trace, const ViewOptions& options)
      : doc_(std::move(doc)),
        trace_(std::move(trace)),
        options_(options),
        hosts_(options.host, options.allowed_hosts) {
    struct stat shown {};
    if (stat(trace_.c_str(), &shown) == 0) trace_id_ = {shown.st_dev, shown.st_ino};
    model_ = std::make_unique<ViewModel>(doc_, ViewSettings{.trace_path = trace_.string(),
                                                            .patterns = options.patterns,
                                                            .hide_imports = options.hide_imports,
                                                            .suggested_save = suggested_save_name(trace_)});
    routes();
  }

  httplib::Server& http() { return server_; }

 private:
  void routes() {
    server_.set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
      return check_origin(request, response);
    });
    server_.set_post_routing_handler([](const httplib::Request&, httplib::Response& response) {
      response.set_header("X-Content-Type-Options", "nosniff");
      response.set_header("Cache-Control", "no-store");
      response.set_header("Content-Security-Policy", "default-src 'self'");
    });
    // Given with their length, which keeps httplib from compressing them
    // (it compresses text sent whole or in chunks, brotli taking tens of
    // milliseconds a file): on a loopback, compressing costs more than it saves.
    for (const web::Asset& asset : web::kAssets) {
      auto serve = [&asset](const httplib::Request&, httplib::Response& response) {
        response.set_content_provider(asset.text.size(), std::string(asset.type),
                                      [&asset](size_t offset, size_t length, httplib::DataSink& sink) {
                                        return sink.write(asset.text.data() + offset, length);
                                      });
      };
      server_.Get(std::string(asset.path), serve);
      if (asset.path == "/index.html") server_.Get("/", serve);
    }
    server_.Get("/favicon.ico",
                [](const httplib::Request&, httplib::Response& response) { response.status = 204; });
    // Streamed from the document's columns; a provider with a length is
    // sent as is (no copy of the whole, no compression of hundreds of MB).
    server_.Get("/api/model", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content_provider(model_->size(), "application/octet-stream",
                                    [this](size_t offset, size_t length, httplib::DataSink& sink) {
                                      std::vector<char> piece(std::min<size_t>(length, 1 << 20));
                                      size_t n = model_->read(offset, piece.data(), piece.size());
                                      return n > 0 && sink.write(piece.data(), n);
                                    });
    });
    server_.Get(R"(/api/entry/(\d{1,10}))",
                [this](const httplib::Request& request, httplib::Response& response) {
                  uint64_t id = std::stoull(request.matches[1].str());
                  if (id >= doc_.size())
                    return reply_json(response, 404, {{"error", "no call " + std::to_string(id)}});
                  response.set_content(doc_.entry_json(id), "application/json");
                });
    // ?calls=ID,ID,...: each call's arguments in a line, for the rows in view.
    server_.Get("/api/previews", [this](const httplib::Request& request, httplib::Response& response) {
      nlohmann::json previews = nlohmann::json::array();
      std::map<uint64_t, std::string> made;  // a call asked for twice is read once
      std::string asked = request.get_param_value("calls");
      std::string_view list = asked;
      while (!list.empty() && previews.size() < kMaxPreviews) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        uint64_t id = 0;
        auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
        if (ec != std::errc() || end != item.data() + item.size() || id >= doc_.size())
          return reply_json(response, 400, {{"error", "calls is a list of call ids"}});
        auto [preview, added] = made.try_emplace(id);
        if (added) {
          ObjectText entry(doc_.raw_entry(id), static_cast<uint32_t>(id));
          auto arguments = entry.value("arguments");
          if (arguments) preview->second = argument_preview(*arguments, kPreviewBytes);
        }
        previews.push_back(preview->second);
      }
      response.set_content(previews.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                           "application/json");
    });
    server_.Post("/api/save", [this](const httplib::Request& request, httplib::Response& response) {
      try {
        reply_json(response, 200, save(request));
      } catch (const HttpError& e) {
        std::cerr << kTool << ": not saved: " << e.message << "\n";
        reply_json(response, e.status, {{"error", e.message}, {"exists", e.exists}});
      }
    });
    server_.Post("/api/export", [this](const httplib::Request& request, httplib::Response& response) {
      try {
        start_export(request, response);
      } catch (const HttpError& e) {
        std::cerr << kTool << ": not exported: " << e.message << "\n";
        reply_json(response, e.status, {{"error", e.message}});
      }
    });
    server_.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
      if (response.body.empty())
        reply_json(response, response.status,
                   {{"error", "HTTP " + std::to_string(response.status) + " for " + request.method + " " +
                                  request.path}});
    });
  }

  // Refuses requests that a web page from elsewhere could make through the
  // user's browser: a Host this server does not go by (DNS rebinding), and
  // a POST from another origin or in a form's encoding.
  httplib::Server::HandlerResponse check_origin(const httplib::Request& request,
                                                httplib::Response& response) {
    std::string host = request.get_header_value("Host");
    if (!hosts_.allows(host)) {
      reply_json(response, 403,
                 {{"error", "this server does not answer requests for " + host +
                                " (start it with --allow-host NAME to reach it by another name)"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    std::string origin = request.get_header_value("Origin");
    if (request.method == "POST" &&
        ((!origin.empty() && origin != "http://" + host) ||
         !request.get_header_value("Content-Type").starts_with("application/json"))) {
      reply_json(response, 403,
                 {{"error", "saving and exporting are allowed from the viewer's own page only"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    // Another site's page can make the browser ask for the model, an entry
    // or previews without reading the answer; the work is refused all the
    // same. Browsers say where a request comes from; other clients do not.
    std::string site = request.get_header_value("Sec-Fetch-Site");
    if (request.path.starts_with("/api/") && !site.empty() && site != "same-origin" && site != "none") {
      reply_json(response, 403, {{"error", "the viewer's data is for the viewer's own page only"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // {"filename": NAME, "ranges": [[FIRST, LAST], ...], "filters": {...},
  // "overwrite": BOOL}: the calls FIRST..LAST of each range, saved as NAME.
  nlohmann::json save(const httplib::Request& request) {
    SaveRequest asked = parse_save_request(request.body);
    std::string name;
    try {
      name = checked_save_name(asked.filename);
    } catch (const Error& e) {
      throw HttpError{400, std::string(e.what())};
    }
    fs::path target = trace_.parent_path() / name;
    if (name == trace_.filename().string() || is_the_trace(target))
      throw HttpError{409, "that is the trace being shown; choose another name"};
    struct stat existing {};
    bool exists = lstat(target.c_str(), &existing) == 0;
    if (exists && !S_ISREG(existing.st_mode))
      throw HttpError{409, name + " in " + trace_.parent_path().string() + " is not a regular file"};
    if (exists && !asked.overwrite)
      throw HttpError{409, name + " already exists in " + trace_.parent_path().string(), true};

    FilterRecord record{
        .filters = asked.filters, .source = trace_.filename().string(), .applied_at = iso_time_now()};
    std::lock_guard lock(save_mutex_);
    try {
      write_next_to(
          trace_, name,
          [&](const std::function<void(std::string_view)>& write) {
            write_filtered_document(doc_, asked.kept, record, write);
          },
          asked.overwrite);
    } catch (const Error& e) {
      throw HttpError{400, std::string(e.what())};
    }
    std::cerr << kTool << ": saved " << asked.kept.size() << " of " << doc_.size() << " calls to "
              << target.string() << "\n";
    return {{"path", target.string()}, {"name", name}, {"calls", asked.kept.size()}, {"of", doc_.size()}};
  }

  // {"format": "chrome" | "speedscope" | "collapsed", "ranges": [[FIRST,
  // LAST], ...]}: those calls in that format, streamed as a download named
  // after the trace. What cannot be exported is a 400 before any byte.
  void start_export(const httplib::Request& request, httplib::Response& response) {
    if (json_depth(request.body) > kMaxJsonDepth) throw HttpError{400, "the request is nested too deeply"};
    nlohmann::json json = nlohmann::json::parse(request.body, nullptr, false);
    if (!json.is_object()) throw HttpError{400, "the request is not a JSON object"};
    auto format_name = json.find("format");
    std::optional<ExportFormat> format;
    if (format_name != json.end() && format_name->is_string())
      format = parse_export_format(format_name->get<std::string>());
    if (!format) throw HttpError{400, "\"format\" is chrome, speedscope or collapsed"};
    auto kept = std::make_shared<std::vector<uint32_t>>(kept_calls(json));
    if (auto problem = export_problem(doc_, *kept)) throw HttpError{400, *problem};
    std::string name = suggested_export_name(trace_, *format);
    response.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    // Bytes to save, not text for the page: httplib leaves them uncompressed
    // (its brotli would take minutes over an export of 100 MB).
    response.set_chunked_content_provider(
        "application/octet-stream", [this, kept, format](size_t, httplib::DataSink& sink) {
          struct Gone {};  // the browser went away: stop writing
          // One export at a time: each holds its frames and stacks.
          std::lock_guard lock(export_mutex_);
          try {
            write_export(doc_, *format, *kept, false, [&](std::string_view piece) {
              if (!sink.write(piece.data(), piece.size())) throw Gone{};
            });
          } catch (const Gone&) {
            return false;
          } catch (const std::exception& e) {  // half sent: the download ends short
            std::cerr << kTool << ": export stopped: " << e.what() << "\n";
            return false;
          }
          sink.done();
          return true;
        });
  }

  struct SaveRequest {
    std::string filename;
    std::vector<uint32_t> kept;
    nlohmann::ordered_json filters = nlohmann::ordered_json::object();
    bool overwrite = false;
  };

  // Reads a save request, every field checked: a bad one is a 400 that says which.
  SaveRequest parse_save_request(const std::string& body) const {
    if (json_depth(body) > kMaxJsonDepth) throw HttpError{400, "the request is nested too deeply"};
    nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_object()) throw HttpError{400, "the request is not a JSON object"};
    SaveRequest asked;
    auto filename = json.find("filename");
    if (filename == json.end() || !filename->is_string())
      throw HttpError{400, "the request has no \"filename\""};
    asked.filename = filename->get<std::string>();
    if (auto overwrite = json.find("overwrite"); overwrite != json.end()) {
      if (!overwrite->is_boolean()) throw HttpError{400, "\"overwrite\" is true or false"};
      asked.overwrite = overwrite->get<bool>();
    }
    if (auto filters = json.find("filters"); filters != json.end()) {
      if (!filters->is_object()) throw HttpError{400, "\"filters\" is not an object"};
      asked.filters = nlohmann::ordered_json::parse(filters->dump());
    }
    asked.kept = kept_calls(json);
    return asked;
  }

  // The calls of a request's "ranges": [[first id, last id], ...] in order.
  std::vector<uint32_t> kept_calls(const nlohmann::json& json) const {
    auto ranges = json.find("ranges");
    if (ranges == json.end() || !ranges->is_array())
      throw HttpError{400, "the request has no \"ranges\" list"};
    std::vector<uint32_t> kept;
    uint64_t previous_end = 0;
    for (const auto& range : *ranges) {
      if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() ||
          !range[1].is_number_unsigned())
        throw HttpError{400, "\"ranges\" holds something that is not [first id, last id]"};
      uint64_t first = range[0].get<uint64_t>(), last = range[1].get<uint64_t>();
      if (first > last || last >= doc_.size() || (!kept.empty() && first < previous_end))
        throw HttpError{400, "the range [" + std::to_string(first) + ", " + std::to_string(last) +
                                 "] is not in order or not calls of this trace (ids 0 to " +
                                 std::to_string(doc_.size() - 1) + ")"};
      for (uint64_t id = first; id <= last; ++id) kept.push_back(static_cast<uint32_t>(id));
      previous_end = last + 1;
    }
    return kept;
  }

  // The name is the shown trace under another path: a link to it.
  bool is_the_trace(const fs::path& path) const {
    struct stat st {};
    return trace_id_ && stat(path.c_str(), &st) == 0 && std::pair{st.st_dev, st.st_ino} == *trace_id_;
  }

  TraceDocument doc_;
  fs::path trace_;
  std::optional<std::pair<dev_t, ino_t>> trace_id_;  // the shown trace's file, however it is named
  ViewOptions options_;
  HostRules hosts_;
  std::unique_ptr<ViewModel> model_;  // refers to doc_
  httplib::Server server_;
  std::mutex save_mutex_;
  std::mutex export_mutex_;
};

// Tries the address first, for a message with the reason (httplib only
// says whether it could bind).
void check_address(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  std::string where = host + ":" + std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    throw Error("cannot listen on " + where + ": " + gai_strerror(rc));
  int error = 0;
  int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  int yes = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
      bind(fd, found->ai_addr, found->ai_addrlen) != 0)
    error = errno;
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  if (error == EADDRINUSE)
    throw Error("cannot listen on " + where +
                ": the port is in use; give another port (serve_visualization.sh TRACE PORT)");
  if (error) throw Error("cannot listen on " + where + ": " + std::strerror(error));
}

std::string login_name() {
  if (const char* sudo_user = getenv("SUDO_USER"); sudo_user && *sudo_user) return sudo_user;
  if (struct passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "user";
}

std::string human_size(uintmax_t bytes) {
  char text[32];
  if (bytes >= 1 << 20)
    std::snprintf(text, sizeof text, "%.1f MiB", bytes / 1048576.0);
  else if (bytes >= 1 << 10)
    std::snprintf(text, sizeof text, "%.1f KiB", bytes / 1024.0);
  else
    std::snprintf(text, sizeof text, "%ju bytes", bytes);
  return text;
}

// "indexing 3172.5 MiB of 12675.8 MiB (25%)", redrawn in place on a terminal
// twice a second; nothing where stderr is not a terminal.
class ProgressLine {
 public:
  ProgressLine() : shown_(isatty(STDERR_FILENO) == 1) {}
  void operator()(std::string_view phase, uint64_t done, uint64_t total) {
    if (!shown_) return;
    auto now = std::chrono::steady_clock::now();
    bool finished = total != 0 && done == total;
    bool phase_only = done == 0 && total == 0;  // a phase that tells no progress: its own line
    if (!finished && !phase_only && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    std::string line = std::string(kTool) + ": " + std::string(phase);
    if (done) line += " " + human_size(done);
    if (total) line += " of " + human_size(total) + " (" + std::to_string(done * 100 / total) + "%)";
    bool ends = finished || phase_only;
    std::fprintf(stderr, "\r%-72s%s", line.c_str(), ends ? "\n" : "");
    line_open_ = !ends;
  }

  // Ends a line left open, so that a message printed next has a line of its own.
  static void end_line() {
    if (line_open_) std::fputc('\n', stderr);
    line_open_ = false;
  }

 private:
  static inline bool line_open_ = false;
  bool shown_;
  std::chrono::steady_clock::time_point last_{};
};

// Where a compressed trace is decompressed: $TMPDIR, else /var/tmp.
std::string scratch_directory() {
  const char* tmpdir = getenv("TMPDIR");
  return tmpdir && *tmpdir ? tmpdir : "/var/tmp";
}

// A streambuf that hands what is written to a function: the compressor's sink.
class FunctionBuffer : public std::streambuf {
 public:
  explicit FunctionBuffer(const std::function<void(std::string_view)>& write) : write_(write) {}

 protected:
  std::streamsize xsputn(const char* data, std::streamsize n) override {
    write_(std::string_view(data, static_cast<size_t>(n)));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      char byte = traits_type::to_char_type(c);
      write_(std::string_view(&byte, 1));
    }
    return traits_type::not_eof(c);
  }

 private:
  const std::function<void(std::string_view)>& write_;
};

// pytrace_view TRACE --export FORMAT -o FILE: no server. FILE is compressed
// by its name (.gz, .zst), as the tools' -o is.
int run_export(const ViewOptions& options) {
  ExportFormat format = *parse_export_format(options.export_format);
  struct stat target {
  }, source{};
  if (options.output != "-" && lstat(options.output.c_str(), &target) == 0) {
    if (!S_ISREG(target.st_mode)) throw Error(options.output + " is not a regular file");
    if (stat(options.trace.c_str(), &source) == 0 && source.st_dev == target.st_dev &&
        source.st_ino == target.st_ino)
      throw Error(options.output + " is the trace being exported; choose another name");
  }
  TraceDocument doc = TraceDocument::load(options.trace, false, ProgressLine(), scratch_directory());
  if (auto problem = export_problem(doc, {})) throw Error(options.trace + ": " + *problem);
  Compression compression = options.output == "-" ? Compression::kNone : compression_for_name(options.output);
  auto produce = [&](const std::function<void(std::string_view)>& write) {
    if (compression == Compression::kNone) return write_export(doc, format, {}, true, write);
    FunctionBuffer sink(write);
    CompressingBuffer compressor(compression, sink);
    write_export(doc, format, {}, true, [&](std::string_view piece) {
      compressor.sputn(piece.data(), static_cast<std::streamsize>(piece.size()));
    });
    if (!compressor.finish()) throw Error(std::string(compression_name(compression)) + " compression failed");
  };
  if (options.output == "-") {
    produce([](std::string_view piece) {
      std::cout.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    });
    std::cout.flush();
    if (!std::cout) throw Error("cannot write to standard output");
    return 0;
  }
  fs::path output = fs::absolute(options.output);
  if (fs::is_directory(output)) throw Error(options.output + " is a directory");
  try {
    write_next_to(output, output.filename().string(), produce, true);
  } catch (const HttpError& e) {
    throw Error(e.message);
  }
  std::cerr << kTool << ": wrote " << doc.size() << " calls to " << options.output << "\n";
  return 0;
}

int run(const ViewOptions& options) {
  if (!options.export_format.empty()) return run_export(options);
  // Ctrl-C, SIGTERM and SIGHUP are taken by one thread that stops the
  // server; blocked here so that httplib's threads inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, sig);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The address first: a large trace takes seconds to read.
  check_address(options.host, options.port);
  std::error_code ec;
  fs::path trace = fs::absolute(options.trace, ec).lexically_normal();
  uintmax_t bytes = fs::file_size(trace, ec);
  std::cerr << kTool << ": reading " << options.trace << (ec ? "" : " (" + human_size(bytes) + ")")
            << "...\n";
  auto started = std::chrono::steady_clock::now();
  TraceDocument doc = TraceDocument::load(trace.string(), true, ProgressLine(), scratch_directory());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr, "%s: %zu calls in %zu %s, %zu pattern groups (read in %.2f s)\n", kTool, doc.size(),
               doc.threads.size(), doc.threads.size() == 1 ? "thread" : "threads", doc.groups.size(),
               seconds);
  if (doc.executed_lines)
    std::fprintf(stderr, "%s: %llu executed lines, listed in the panel of the call that ran them\n", kTool,
                 static_cast<unsigned long long>(doc.executed_lines));
  if (doc.is_stack) std::fprintf(stderr, "%s: a stack from trace_where, shown outermost first\n", kTool);

  ViewServer view(std::move(doc), trace, options);
  httplib::Server& server = view.http();
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second
  // server share a port already in use instead of failing.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_payload_max_length(kMaxRequestBytes);
  server.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  server.set_read_timeout(kReadTimeoutS, 0);
  server.set_keep_alive_timeout(kKeepAliveS);
  server.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
    reply_json(response, 500, {{"error", "the server could not answer this request"}});
  });
  if (!server.bind_to_port(options.host, options.port))
    throw Error("cannot listen on " + options.host + ":" + std::to_string(options.port));

  std::string port = std::to_string(options.port);
  char hostname[256] = "this-machine";
  gethostname(hostname, sizeof hostname - 1);
  std::string shown_host = options.host == "0.0.0.0" || options.host == "::" ? hostname : options.host;
  if (shown_host.find(':') != std::string::npos) shown_host = "[" + shown_host + "]";
  std::cout << "Serving " << trace.filename().string() << " at http://" << shown_host << ":" << port << "/\n"
            << "From another machine, forward the port over SSH, then open http://localhost:" << port
            << "/ there:\n"
            << "    ssh -L " << port << ":127.0.0.1:" << port << " " << login_name() << "@" << hostname
            << "\n"
            << "Press Ctrl-C to stop." << std::endl;

  std::atomic<int> stopped_by{0};
  std::thread waiter([&server, &stopped_by, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stopped_by = sig;
    server.stop();
  });
  bool ok = server.listen_after_bind();
  if (stopped_by == 0) pthread_kill(waiter.native_handle(), SIGTERM);  // wake the waiter to end it
  waiter.join();
  if (!ok) throw Error("the server stopped unexpectedly");
  std::cerr << "\n" << kTool << ": stopped\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ViewOptions options;
  try {
    options = parse_view_options(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << kTool << ": " << e.what() << "\n\n" << kViewUsage;
    return 2;
  }
  if (options.help) {
    std::cout << kViewUsage;
    return 0;
  }
  try {
    return run(options);
  } catch (const Error& e) {
    ProgressLine::end_line();
    std::cerr << kTool << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    ProgressLine::end_line();
    std::cerr << kTool << ": unexpected error: " << e.what() << "\n";
    return 1;
  }
}
