// SPDX-License-Identifier: MIT
// pytrace_view: serves the interactive viewer (web/) for one trace document,
// on 127.0.0.1 unless told otherwise, until Ctrl-C.
//
//   GET  /, /viewer.js, /style.css  the page (compiled in)
//   GET  /api/model                 the trace as columns (view_model.h)
//   GET  /api/entry/ID              one entry's JSON, as written in the trace
//   POST /api/save                  {filename, ids, filters, overwrite}: a
//                                   filtered trace next to the original
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/local_time.h"
#include "filtered_trace.h"
#include "trace_document.h"
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

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]";
}

// The host part of a Host header ("localhost:8080", "[::1]:8080").
std::string host_name(const std::string& header) {
  if (header.starts_with('[')) return header.substr(0, header.find(']') + 1);
  return header.substr(0, header.find(':'));
}

// The name offered for saving: TRACE_filtered.json, numbered if taken.
std::string suggested_save_name(const fs::path& trace) {
  std::string stem = trace.stem().string();
  std::string name = stem + "_filtered.json";
  for (int n = 2; fs::exists(trace.parent_path() / name); ++n)
    name = stem + "_filtered_" + std::to_string(n) + ".json";
  return name;
}

// Writes `text` as DIR/NAME, whole or not at all: a temporary file first,
// then linked into place (which fails if the name is taken) or, to
// overwrite, renamed. Given the trace file's owner when running as root.
void write_next_to(const fs::path& trace, const std::string& name, const std::string& text, bool overwrite) {
  fs::path target = trace.parent_path() / name;
  static std::atomic<unsigned> counter{0};
  fs::path temp = trace.parent_path() /
                  ("." + name + ".partial-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    throw HttpError{500, "cannot write in " + trace.parent_path().string() + ": " + std::strerror(errno)};
  size_t done = 0;
  int error = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
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
      : doc_(std::move(doc)), trace_(std::move(trace)), options_(options) {
    model_ = view_model_json(doc_, {.trace_path = trace_.string(),
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
    auto page = [](const char* text, const char* type) {
      return [text, type](const httplib::Request&, httplib::Response& response) {
        response.set_content(text, type);
      };
    };
    server_.Get("/", page(web::kIndexHtml, "text/html; charset=utf-8"));
    server_.Get("/viewer.js", page(web::kViewerJs, "text/javascript; charset=utf-8"));
    server_.Get("/style.css", page(web::kStyleCss, "text/css; charset=utf-8"));
    server_.Get("/favicon.ico",
                [](const httplib::Request&, httplib::Response& response) { response.status = 204; });
    // Streamed from the string built once; a provider with a length is
    // sent as is (no per-request copy, no compression of tens of MB).
    server_.Get("/api/model", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content_provider(model_.size(), "application/json",
                                    [this](size_t offset, size_t length, httplib::DataSink& sink) {
                                      return sink.write(model_.data() + offset, length);
                                    });
    });
    server_.Get(R"(/api/entry/(\d{1,10}))",
                [this](const httplib::Request& request, httplib::Response& response) {
                  uint64_t id = std::stoull(request.matches[1].str());
                  if (id >= doc_.size())
                    return reply_json(response, 404, {{"error", "no call " + std::to_string(id)}});
                  response.set_content(std::string(doc_.raw_entry(id)), "application/json");
                });
    server_.Post("/api/save", [this](const httplib::Request& request, httplib::Response& response) {
      try {
        reply_json(response, 200, save(request));
      } catch (const HttpError& e) {
        std::cerr << kTool << ": not saved: " << e.message << "\n";
        reply_json(response, e.status, {{"error", e.message}, {"exists", e.exists}});
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
  // user's browser: a Host other than the address served (DNS rebinding)
  // and a POST from another origin.
  httplib::Server::HandlerResponse check_origin(const httplib::Request& request,
                                                httplib::Response& response) {
    std::string host = request.get_header_value("Host");
    if (is_loopback(options_.host) && !is_loopback(host_name(host))) {
      reply_json(response, 403, {{"error", "this server answers requests for localhost only, not " + host}});
      return httplib::Server::HandlerResponse::Handled;
    }
    std::string origin = request.get_header_value("Origin");
    if (request.method == "POST" && !origin.empty() && origin != "http://" + host) {
      reply_json(response, 403, {{"error", "saving is allowed from the viewer's own page only"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  nlohmann::json save(const httplib::Request& request) {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object()) throw HttpError{400, "the request is not a JSON object"};
    if (!body.contains("filename") || !body["filename"].is_string())
      throw HttpError{400, "the request has no \"filename\""};
    std::string name;
    try {
      name = checked_save_name(body["filename"].get<std::string>());
    } catch (const Error& e) {
      throw HttpError{400, std::string(e.what())};
    }
    if (name == trace_.filename().string())
      throw HttpError{409, "that is the trace being shown; choose another name"};
    if (!body.contains("ids") || !body["ids"].is_array())
      throw HttpError{400, "the request has no \"ids\" list"};
    std::vector<uint32_t> kept;
    kept.reserve(body["ids"].size());
    for (const auto& id : body["ids"]) {
      if (!id.is_number_unsigned()) throw HttpError{400, "\"ids\" holds something that is not a call id"};
      kept.push_back(id.get<uint32_t>());
    }
    bool overwrite = body.value("overwrite", false);
    if (!overwrite && fs::exists(trace_.parent_path() / name))
      throw HttpError{409, name + " already exists in " + trace_.parent_path().string(), true};

    std::string text;
    try {
      text = filtered_document(doc_, kept,
                               {.filters = body.value("filters", nlohmann::ordered_json::object()),
                                .source = trace_.filename().string(),
                                .applied_at = iso_time_now()});
    } catch (const Error& e) {
      throw HttpError{400, std::string(e.what())};
    }
    std::lock_guard lock(save_mutex_);
    write_next_to(trace_, name, text, overwrite);
    fs::path saved = trace_.parent_path() / name;
    std::cerr << kTool << ": saved " << kept.size() << " of " << doc_.size() << " calls to " << saved.string()
              << "\n";
    return {{"path", saved.string()}, {"name", name}, {"calls", kept.size()}, {"of", doc_.size()}};
  }

  TraceDocument doc_;
  fs::path trace_;
  ViewOptions options_;
  std::string model_;
  httplib::Server server_;
  std::mutex save_mutex_;
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
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1048576.0);
  else if (bytes >= 1 << 10)
    std::snprintf(text, sizeof text, "%.1f kB", bytes / 1024.0);
  else
    std::snprintf(text, sizeof text, "%ju bytes", bytes);
  return text;
}

int run(const ViewOptions& options) {
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
  TraceDocument doc = TraceDocument::load(trace.string());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr, "%s: %zu calls in %zu threads, %zu pattern groups (read in %.2f s)\n", kTool,
               doc.size(), doc.threads.size(), doc.groups.size(), seconds);
  if (doc.skipped_entries)
    std::fprintf(stderr, "%s: %llu entries that are not calls (executed lines) are not shown\n", kTool,
                 static_cast<unsigned long long>(doc.skipped_entries));

  ViewServer view(std::move(doc), trace, options);
  httplib::Server& server = view.http();
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second
  // server share a port already in use instead of failing.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_payload_max_length(256u << 20);
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
    std::cerr << kTool << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << kTool << ": unexpected error: " << e.what() << "\n";
    return 1;
  }
}
