// Models from the Hugging Face hub (opusrt/hub.h) against a local fake hub (fake_hub.h) serving
// the tiny fixture model in the hub's URL layout: first download (with progress), offline second
// run with the server stopped, resumed downloads, sizes and checksums that lie, hostile names,
// tokens. Every test has its own cache directory; nothing touches the internet.
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_hub.h"
#include "hub/names.h"
#include "hub/sha256.h"
#include "opusrt/hub.h"
#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

namespace fs = std::filesystem;

constexpr char kRepo[] = "Helsinki-NLP/opus-mt-tiny";
constexpr char kCommit[] = "0123456789abcdef0123456789abcdef01234567";
constexpr char kMerged[] = "onnx/decoder_model_merged.onnx";

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("opusrt-hub-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sets (or unsets, with nullptr) an environment variable for the scope.
class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Options that ignore the environment: this hub, this cache, no token, online.
HubOptions options_for(const FakeHub& hub, const fs::path& home) {
  HubOptions options;
  options.endpoint = hub.endpoint();
  options.cache_dir = home / "hub";
  options.token = "";
  options.offline = false;
  options.max_retries = 3;
  options.low_speed_time_s = 10;
  return options;
}

fs::path repo_dir(const fs::path& home) { return home / "hub" / "models--Helsinki-NLP--opus-mt-tiny"; }
fs::path snapshot_dir(const fs::path& home) { return repo_dir(home) / "snapshots" / kCommit; }

// A copy of the Xenova fixture to edit (remove or add files).
fs::path copy_fixture(const fs::path& source, const fs::path& to) {
  fs::copy(source, to, fs::copy_options::recursive);
  return to;
}

std::vector<fs::path> files_named(const fs::path& root, const std::string& suffix) {
  std::vector<fs::path> found;
  if (!fs::exists(root)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename().string().ends_with(suffix)) found.push_back(entry.path());
  }
  return found;
}

// Byte-for-byte equality without printing megabytes of ONNX on failure.
::testing::AssertionResult same_bytes(const fs::path& a, const fs::path& b) {
  const std::string x = slurp(a), y = slurp(b);
  if (x == y) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " (" << x.size() << " bytes, sha256 " << hub::sha256_hex(x) << ") differs from "
                                       << b << " (" << y.size() << " bytes, sha256 " << hub::sha256_hex(y) << ")";
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected opusrt::Error";
  return "";
}

TEST(HubNames, RepoIdsAreValidatedStrictly) {
  for (const char* good : {"Helsinki-NLP/opus-mt-en-zh", "Xenova/opus-mt-en-zh", "a/b", "A1/b.c_d-e", "o/n.v2"})
    EXPECT_TRUE(is_hub_model_id(good)) << good;
  for (const char* bad : {"", "owner", "owner/", "/name", "a/b/c", "../x", "a/..", "a/b..c", "-a/b", "a/.b", "a/b c",
                          "a/b\\c", "a--b/c", "a/b--c", "a/b\n", "./a", "a/_b", "a/b/", "a//b"})
    EXPECT_FALSE(is_hub_model_id(bad)) << bad;
  EXPECT_EQ(hub::parse_repo_id("Xenova/opus-mt-en-zh")->cache_folder(), "models--Xenova--opus-mt-en-zh");
}

TEST(HubNames, EtagsRevisionsAndPaths) {
  EXPECT_EQ(hub::etag_to_blob_name("\"abc123\""), "abc123");
  EXPECT_EQ(hub::etag_to_blob_name("W/\"abc-123\""), "abc-123");
  EXPECT_FALSE(hub::etag_to_blob_name("\"../../evil\""));
  EXPECT_FALSE(hub::etag_to_blob_name("\"a/b\""));
  EXPECT_FALSE(hub::etag_to_blob_name("\"..\""));
  EXPECT_FALSE(hub::etag_to_blob_name("\"x.incomplete\""));
  EXPECT_FALSE(hub::etag_to_blob_name("\"\""));
  EXPECT_TRUE(hub::is_valid_revision("refs/pr/1"));
  EXPECT_FALSE(hub::is_valid_revision("../main"));
  EXPECT_FALSE(hub::is_valid_revision("/main"));
  EXPECT_TRUE(hub::is_valid_repo_path("onnx/encoder_model.onnx"));
  for (const char* bad : {"/etc/passwd", "../x", "onnx/../../x", "a\\b", "a//b", "./x", "x/", ""})
    EXPECT_FALSE(hub::is_valid_repo_path(bad)) << bad;
  EXPECT_EQ(hub::url_encode("refs/pr/1", false), "refs%2Fpr%2F1");
  EXPECT_EQ(hub::url_encode("onnx/a b.onnx", true), "onnx/a%20b.onnx");
}

TEST(HubNames, Sha256KnownAnswers) {
  EXPECT_EQ(hub::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hub::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hub::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  hub::Sha256 pieces;  // fed in odd-sized pieces
  const std::string million(1000000, 'a');
  for (size_t i = 0; i < million.size(); i += 777) pieces.update(million.data() + i, std::min<size_t>(777, million.size() - i));
  EXPECT_EQ(pieces.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Hub, FirstRunDownloadsEverythingAndTranslatesLikeTheFixture) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  HubOptions options = options_for(hub, home.path());
  std::map<std::string, std::pair<uint64_t, uint64_t>> progress;  // file -> last (done, total)
  options.on_progress = [&](const HubProgress& p) {
    auto& last = progress[std::string(p.file)];
    EXPECT_GE(p.bytes_done, last.first) << p.file;
    last = {p.bytes_done, p.bytes_total};
  };

  const fs::path dir = resolve_model(kRepo, options);
  EXPECT_EQ(dir, snapshot_dir(home.path()));
  EXPECT_EQ(slurp(repo_dir(home.path()) / "refs" / "main"), kCommit);

  for (const char* file : {"config.json", "generation_config.json", "source.spm", "target.spm", "vocab.json",
                           "tokenizer_config.json", "special_tokens_map.json", "onnx/encoder_model.onnx", kMerged}) {
    SCOPED_TRACE(file);
    ASSERT_TRUE(fs::is_regular_file(dir / file));
    EXPECT_TRUE(fs::is_symlink(dir / file));
    EXPECT_TRUE(same_bytes(dir / file, tiny_xenova_dir() / file));
    const uint64_t size = fs::file_size(tiny_xenova_dir() / file);
    ASSERT_TRUE(progress.count(file));
    EXPECT_EQ(progress[file].first, size);
    EXPECT_EQ(progress[file].second, size);
  }
  // Relative symlinks into blobs/, LFS blobs named by their sha256, as huggingface_hub lays them out.
  const std::string merged_sha = hub.sha256_of(kRepo, kMerged);
  EXPECT_EQ(fs::read_symlink(dir / kMerged), fs::path("../../../blobs") / merged_sha);
  EXPECT_EQ(fs::read_symlink(dir / "config.json").parent_path(), fs::path("../../blobs"));
  EXPECT_TRUE(fs::is_regular_file(repo_dir(home.path()) / "blobs" / merged_sha));
  // Merged decoder preferred: the split pair is not downloaded. Absent optional files are noted.
  EXPECT_FALSE(fs::exists(dir / "onnx/decoder_model.onnx"));
  EXPECT_FALSE(fs::exists(dir / "onnx/decoder_with_past_model.onnx"));
  EXPECT_TRUE(fs::exists(repo_dir(home.path()) / ".no_exist" / kCommit / "target_vocab.json"));
  EXPECT_TRUE(fs::exists(repo_dir(home.path()) / ".no_exist" / kCommit / "onnx/encoder_model.onnx_data"));
  EXPECT_TRUE(files_named(home.path(), ".incomplete").empty());

  // Every GET after the first HEAD asks for the pinned commit.
  for (const FakeHub::Request& r : hub.requests()) {
    if (r.method == "GET" && !r.path.starts_with("/cdn/")) {
      EXPECT_NE(r.path.find(kCommit), std::string::npos) << r.path;
    }
  }

  const Translator downloaded(dir);
  const Translator fixture(tiny_xenova_dir());
  TranslateOptions translate;
  translate.max_new_tokens = 12;
  for (const std::string text : {"Hello world.", "The quick brown fox jumps over the lazy dog.", ""}) {
    SCOPED_TRACE(text);
    const Translation a = downloaded.translate(text, translate);
    const Translation b = fixture.translate(text, translate);
    EXPECT_EQ(a.output_ids, b.output_ids);
    EXPECT_EQ(a.text, b.text);
  }
}

TEST(Hub, SecondRunWorksOfflineWithTheServerStopped) {
  TempDir home;
  auto hub = std::make_unique<FakeHub>();
  hub->add_repo(kRepo, kCommit, tiny_xenova_dir());
  HubOptions options = options_for(*hub, home.path());
  const fs::path first = resolve_model(kRepo, options);

  // Online again: HEAD requests only, no download.
  hub->clear_requests();
  int calls = 0;
  options.on_progress = [&](const HubProgress&) { ++calls; };
  EXPECT_EQ(resolve_model(kRepo, options), first);
  EXPECT_EQ(hub->count("GET"), 0u);
  EXPECT_GT(hub->count("HEAD"), 0u);
  EXPECT_EQ(calls, 0);

  hub->stop();
  options.offline = true;
  EXPECT_EQ(resolve_model(kRepo, options), first);
  EXPECT_EQ(calls, 0);

  // The same through the environment alone: HF_HOME, HF_HUB_OFFLINE=1.
  {
    EnvGuard home_env("HF_HOME", home.path().c_str());
    EnvGuard cache_env("HF_HUB_CACHE", nullptr);
    EnvGuard offline_env("HF_HUB_OFFLINE", "1");
    EnvGuard endpoint_env("HF_ENDPOINT", "http://127.0.0.1:9");  // never contacted
    EXPECT_EQ(resolve_model(kRepo), first);
    EXPECT_EQ(hub_download(kRepo, "config.json"), first / "config.json");
  }

  // Online with the hub unreachable: the complete cached snapshot is used.
  options.offline = false;
  options.connect_timeout_s = 2;
  EXPECT_EQ(resolve_model(kRepo, options), first);
  const Translator translator(first);
  EXPECT_FALSE(translator.translate("Hello world.").output_ids.empty());
}

TEST(Hub, InterruptedDownloadResumesWithARangeRequest) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  const std::string sha = hub.sha256_of(kRepo, kMerged);
  const uint64_t size = fs::file_size(tiny_xenova_dir() / kMerged);
  ASSERT_GT(size, 300000u);

  // The connection drops after 100000 bytes, every time: the call fails, naming the file, and
  // keeps the partial download.
  HubOptions options = options_for(hub, home.path());
  options.max_retries = 0;
  FakeHub::Fault drop;
  drop.times = -1;
  drop.close_after = 100000;
  hub.set_fault(kMerged, drop);
  const std::string message = error_of([&] { resolve_model(kRepo, options); });
  EXPECT_NE(message.find(kMerged), std::string::npos) << message;
  EXPECT_NE(message.find("resume"), std::string::npos) << message;
  const fs::path incomplete = repo_dir(home.path()) / "blobs" / (sha + ".incomplete");
  ASSERT_TRUE(fs::exists(incomplete));
  EXPECT_EQ(fs::file_size(incomplete), 100000u);
  EXPECT_FALSE(fs::exists(repo_dir(home.path()) / "refs" / "main"));

  // The next run asks for the rest only, and ends with identical bytes.
  hub.clear_faults();
  hub.clear_requests();
  const fs::path dir = resolve_model(kRepo, options);
  bool ranged = false;
  for (const FakeHub::Request& r : hub.requests()) {
    if (r.method == "GET" && r.path.starts_with("/cdn/" + sha + "?")) {
      EXPECT_EQ(r.header("range"), "bytes=100000-");
      ranged = true;
    }
  }
  EXPECT_TRUE(ranged);
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  EXPECT_FALSE(fs::exists(incomplete));

  // Within one call: a dropped connection is retried from where it stopped.
  TempDir home2;
  options = options_for(hub, home2.path());
  drop.times = 2;
  drop.close_after = 150000;
  hub.set_fault("onnx/encoder_model.onnx", drop);
  hub.clear_requests();
  const fs::path dir2 = resolve_model(kRepo, options);
  EXPECT_TRUE(same_bytes(dir2 / "onnx/encoder_model.onnx", tiny_xenova_dir() / "onnx/encoder_model.onnx"));
  std::vector<std::string> ranges;
  for (const FakeHub::Request& r : hub.requests()) {
    if (r.method == "GET" && r.path.starts_with("/cdn/" + hub.sha256_of(kRepo, "onnx/encoder_model.onnx") + "?"))
      ranges.push_back(r.header("range"));
  }
  EXPECT_EQ(ranges, (std::vector<std::string>{"", "bytes=150000-", "bytes=300000-"}));
}

TEST(Hub, AServerThatIgnoresRangeRestartsTheFile) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  HubOptions options = options_for(hub, home.path());
  options.max_retries = 0;
  FakeHub::Fault drop;
  drop.close_after = 50000;
  hub.set_fault(kMerged, drop);
  EXPECT_NE(error_of([&] { resolve_model(kRepo, options); }).find(kMerged), std::string::npos);
  const fs::path incomplete = repo_dir(home.path()) / "blobs" / (hub.sha256_of(kRepo, kMerged) + ".incomplete");
  ASSERT_EQ(fs::file_size(incomplete), 50000u);

  // The resume asks for a range; the server answers 200 with everything: the file starts over.
  FakeHub::Fault whole;
  whole.ignore_range = true;
  hub.set_fault(kMerged, whole);
  hub.clear_requests();
  const fs::path dir = resolve_model(kRepo, options);
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  size_t ranged = 0;
  for (const FakeHub::Request& r : hub.requests()) ranged += r.path.starts_with("/cdn/") && r.header("range") == "bytes=50000-";
  EXPECT_EQ(ranged, 1u);
  EXPECT_FALSE(fs::exists(incomplete));
}

TEST(Hub, AStalledTransferIsDroppedAndResumed) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  FakeHub::Fault stall;
  stall.close_after = 60000;
  stall.stall_ms = 2500;
  hub.set_fault(kMerged, stall);
  HubOptions options = options_for(hub, home.path());
  options.low_speed_time_s = 1;
  options.max_retries = 6;
  const fs::path dir = resolve_model(kRepo, options);
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  bool resumed = false;
  for (const FakeHub::Request& r : hub.requests()) resumed = resumed || r.header("range") == "bytes=60000-";
  EXPECT_TRUE(resumed);
}

TEST(Hub, WrongSizeIsRejectedNamingTheFileAndTheSizes) {
  const uint64_t size = fs::file_size(tiny_xenova_dir() / kMerged);
  {
    // The body (and its Content-Length) is shorter than the size the hub announced.
    TempDir home;
    FakeHub hub;
    hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
    FakeHub::Fault shorter;
    shorter.times = -1;
    shorter.truncate_body_to = 1000;
    hub.set_fault(kMerged, shorter);
    const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home.path())); });
    EXPECT_NE(message.find(kMerged), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(size)), std::string::npos) << message;
    EXPECT_NE(message.find("1000"), std::string::npos) << message;
    EXPECT_TRUE(files_named(home.path(), ".incomplete").empty());
    EXPECT_FALSE(fs::exists(repo_dir(home.path()) / "blobs" / hub.sha256_of(kRepo, kMerged)));
  }
  {
    // Every size the server announces is 10 bytes more than it has: the body ends early, the
    // resume finds nothing past the end.
    TempDir home;
    FakeHub hub;
    hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
    FakeHub::Fault lie;
    lie.times = -1;
    lie.size_delta = 10;
    hub.set_fault("vocab.json", lie);
    const uint64_t vocab = fs::file_size(tiny_xenova_dir() / "vocab.json");
    const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home.path())); });
    EXPECT_NE(message.find("vocab.json"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(vocab + 10)), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(vocab)), std::string::npos) << message;
    EXPECT_TRUE(files_named(home.path(), ".incomplete").empty());
  }
  {
    // The right size, the wrong bytes: the sha256 (the LFS ETag) catches it.
    TempDir home;
    FakeHub hub;
    hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
    FakeHub::Fault corrupt;
    corrupt.corrupt = true;
    hub.set_fault(kMerged, corrupt);
    const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home.path())); });
    EXPECT_NE(message.find(kMerged), std::string::npos) << message;
    EXPECT_NE(message.find("sha256"), std::string::npos) << message;
    EXPECT_TRUE(files_named(home.path(), ".incomplete").empty());
    // Served correctly now: the next run succeeds.
    EXPECT_TRUE(same_bytes(resolve_model(kRepo, options_for(hub, home.path())) / kMerged, tiny_xenova_dir() / kMerged));
  }
  {
    // A blob of the wrong size already in the cache is not trusted: downloaded again.
    TempDir home;
    FakeHub hub;
    hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
    const fs::path dir = resolve_model(kRepo, options_for(hub, home.path()));
    const fs::path blob = repo_dir(home.path()) / "blobs" / hub.sha256_of(kRepo, kMerged);
    fs::resize_file(blob, 100);
    hub.clear_requests();
    resolve_model(kRepo, options_for(hub, home.path()));
    EXPECT_EQ(hub.count("GET"), 2u);  // the redirect and the content of that one file
    EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  }
}

TEST(Hub, PathTraversalFromTheServerOrTheCallerIsRefused) {
  for (const std::string etag : {"\"../../../evil\"", "\"a/b\"", "\"..\"", "\"/etc/passwd\"", "\"x\\\\y\""}) {
    SCOPED_TRACE(etag);
    TempDir home;
    FakeHub hub;
    hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
    FakeHub::Fault hostile;
    hostile.times = -1;
    hostile.etag = etag;
    hub.set_fault("config.json", hostile);
    const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home.path())); });
    EXPECT_NE(message.find("ETag"), std::string::npos) << message;
    EXPECT_NE(message.find("refused"), std::string::npos) << message;
    // Nothing at all was written: not in the cache, not next to it.
    EXPECT_TRUE(files_named(home.path(), "evil").empty());
    EXPECT_FALSE(fs::exists(home.path() / "hub" / "models--Helsinki-NLP--opus-mt-tiny" / "blobs"));
  }
  {
    // An LFS ETag is refused the same way.
    TempDir home;
    FakeHub hub;
    hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
    FakeHub::Fault hostile;
    hostile.times = -1;
    hostile.etag = "\"../../../../../tmp/evil\"";
    hub.set_fault(kMerged, hostile);
    const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home.path())); });
    EXPECT_NE(message.find(kMerged), std::string::npos) << message;
    EXPECT_NE(message.find("refused"), std::string::npos) << message;
  }
  for (const std::string commit : {"../../../evil", "a/b", ".."}) {
    SCOPED_TRACE(commit);
    TempDir home;
    FakeHub hub;
    hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
    hub.set_commit_header(commit);
    const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home.path())); });
    EXPECT_NE(message.find("X-Repo-Commit"), std::string::npos) << message;
    EXPECT_TRUE(files_named(home.path(), "evil").empty());
  }
  {
    // File names, revisions and variants from the caller: refused before any request.
    TempDir home;
    FakeHub hub;
    hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
    const HubOptions options = options_for(hub, home.path());
    for (const std::string name : {"../config.json", "/etc/passwd", "onnx/../../x", "a\\b", "onnx//x", "./x", ""}) {
      SCOPED_TRACE(name);
      EXPECT_NE(error_of([&] { hub_download(kRepo, name, options); }).find("refused"), std::string::npos);
    }
    HubOptions bad_revision = options;
    bad_revision.revision = "../../x";
    EXPECT_NE(error_of([&] { resolve_model(kRepo, bad_revision); }).find("revision"), std::string::npos);
    HubOptions bad_variant = options;
    bad_variant.variant = "../x";
    EXPECT_NE(error_of([&] { resolve_model(kRepo, bad_variant); }).find("variant"), std::string::npos);
    EXPECT_TRUE(hub.requests().empty());
    EXPECT_FALSE(fs::exists(home.path() / "hub"));
  }
}

TEST(Hub, NoCommitHeaderFallsBackToTheRevisionName) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.set_commit_header("");
  const fs::path dir = resolve_model(kRepo, options_for(hub, home.path()));
  EXPECT_EQ(dir, repo_dir(home.path()) / "snapshots" / "main");
  EXPECT_TRUE(fs::is_regular_file(dir / kMerged));
  HubOptions offline = options_for(hub, home.path());
  offline.offline = true;
  EXPECT_EQ(resolve_model(kRepo, offline), dir);
}

TEST(Hub, OfflineWithNothingCachedIsAClearError) {
  TempDir home;
  HubOptions options;
  options.cache_dir = home.path() / "hub";
  options.offline = true;
  options.endpoint = "http://127.0.0.1:9";
  const std::string message = error_of([&] { resolve_model(kRepo, options); });
  EXPECT_NE(message.find(kRepo), std::string::npos) << message;
  EXPECT_NE(message.find("HF_HUB_OFFLINE"), std::string::npos) << message;
  EXPECT_NE(message.find("refs/main"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { hub_download(kRepo, "config.json", options); }).find("config.json"), std::string::npos);

  // Cached, but not the variant asked for: the missing graph is named.
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  resolve_model(kRepo, options_for(hub, home.path()));
  options.variant = "quantized";
  const std::string variant_message = error_of([&] { resolve_model(kRepo, options); });
  EXPECT_NE(variant_message.find("encoder_model_quantized.onnx"), std::string::npos) << variant_message;

  // Cached, but a file went missing since.
  options.variant = "";
  fs::remove(snapshot_dir(home.path()) / "vocab.json");
  const std::string gap_message = error_of([&] { resolve_model(kRepo, options); });
  EXPECT_NE(gap_message.find("vocab.json"), std::string::npos) << gap_message;
}

TEST(Hub, InvalidModelNamesAreRejected) {
  TempDir home;
  HubOptions options;
  options.cache_dir = home.path() / "hub";
  options.endpoint = "http://127.0.0.1:9";
  for (const std::string bad : {"", "owner", "a/b/c", "../x", "a/..", "-a/b", "a/b c", "a--b/c", "/nonexistent/model"}) {
    SCOPED_TRACE(bad);
    const std::string message = error_of([&] { resolve_model(bad, options); });
    EXPECT_FALSE(message.empty());
    if (!bad.empty()) {
      EXPECT_NE(message.find("owner/name"), std::string::npos) << message;
    }
  }
  EXPECT_FALSE(fs::exists(home.path() / "hub"));
  // A local directory is returned as it is, even when it looks like owner/name.
  EXPECT_EQ(resolve_model(tiny_xenova_dir().string(), options), tiny_xenova_dir());
  const fs::path cwd = fs::current_path();
  fs::create_directories(home.path() / "owner" / "name");
  fs::current_path(home.path());
  EXPECT_EQ(resolve_model("owner/name", options), fs::path("owner/name"));
  fs::current_path(cwd);
}

TEST(Hub, TokenIsSentAsABearerHeader) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.require_token("hf_secret");
  hub.cdn_on_other_host(true);

  // Without the token: 401, and the message says what to do.
  const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home.path())); });
  EXPECT_NE(message.find("401"), std::string::npos) << message;
  EXPECT_NE(message.find("HF_TOKEN"), std::string::npos) << message;
  EXPECT_NE(message.find(hub.endpoint()), std::string::npos) << message;

  HubOptions options = options_for(hub, home.path());
  options.token = "hf_secret";
  hub.clear_requests();
  const fs::path dir = resolve_model(kRepo, options);
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  size_t hub_requests = 0, storage_requests = 0;
  for (const FakeHub::Request& r : hub.requests()) {
    if (r.path.starts_with("/cdn/")) {
      ++storage_requests;
      EXPECT_EQ(r.header("authorization"), "") << "the token must not follow a redirect to another host";
    } else {
      ++hub_requests;
      EXPECT_EQ(r.header("authorization"), "Bearer hf_secret") << r.method << " " << r.path;
    }
  }
  EXPECT_GT(hub_requests, 0u);
  EXPECT_GT(storage_requests, 0u);

  // From HF_TOKEN, and a wrong token is called that.
  TempDir home2;
  HubOptions from_env = options_for(hub, home2.path());
  from_env.token.reset();
  {
    EnvGuard token("HF_TOKEN", "hf_secret");
    EXPECT_TRUE(fs::is_regular_file(resolve_model(kRepo, from_env) / "config.json"));
  }
  {
    EnvGuard token("HF_TOKEN", "hf_wrong");
    TempDir home3;
    from_env.cache_dir = home3.path() / "hub";
    const std::string refused = error_of([&] { resolve_model(kRepo, from_env); });
    EXPECT_NE(refused.find("token"), std::string::npos) << refused;
  }
  {
    // The token file huggingface_hub's `login` writes, when HF_TOKEN is not set.
    EnvGuard token("HF_TOKEN", nullptr);
    EnvGuard token_path("HF_TOKEN_PATH", nullptr);
    EnvGuard hf_home("HF_HOME", home2.path().c_str());
    std::ofstream(home2.path() / "token") << "hf_secret\n";
    TempDir home4;
    from_env.cache_dir = home4.path() / "hub";
    EXPECT_TRUE(fs::is_regular_file(resolve_model(kRepo, from_env) / "config.json"));
  }
}

TEST(Hub, UnknownRepositoryRevisionOrFileIsNamed) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  const HubOptions options = options_for(hub, home.path());

  const std::string unknown = error_of([&] { resolve_model("nobody/nothing", options); });
  EXPECT_NE(unknown.find("nobody/nothing"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("not a local directory"), std::string::npos) << unknown;

  HubOptions revision = options;
  revision.revision = "v9";
  const std::string bad_revision = error_of([&] { resolve_model(kRepo, revision); });
  EXPECT_NE(bad_revision.find("v9"), std::string::npos) << bad_revision;
  EXPECT_NE(bad_revision.find("404"), std::string::npos) << bad_revision;

  // A required file the repository lacks is named.
  TempDir copy;
  const fs::path repo = copy_fixture(tiny_xenova_dir(), copy.path() / "model");
  fs::remove(repo / "vocab.json");
  hub.add_repo("someone/no-vocab", kCommit, repo);
  const std::string no_vocab = error_of([&] { resolve_model("someone/no-vocab", options); });
  EXPECT_NE(no_vocab.find("vocab.json"), std::string::npos) << no_vocab;
  EXPECT_NE(no_vocab.find("404"), std::string::npos) << no_vocab;

  // No graphs for the variant.
  HubOptions variant = options;
  variant.variant = "fp16";
  const std::string no_variant = error_of([&] { resolve_model(kRepo, variant); });
  EXPECT_NE(no_variant.find("onnx/encoder_model_fp16.onnx"), std::string::npos) << no_variant;
  EXPECT_NE(no_variant.find("encoder_model_fp16.onnx"), std::string::npos) << no_variant;

  // A commit hash as the revision works too.
  HubOptions pinned = options;
  pinned.revision = kCommit;
  EXPECT_EQ(resolve_model(kRepo, pinned), snapshot_dir(home.path()));
  EXPECT_FALSE(fs::exists(repo_dir(home.path()) / "refs" / kCommit));
}

TEST(Hub, OtherLayoutsAndFiles) {
  TempDir home;
  FakeHub hub;
  const HubOptions options = options_for(hub, home.path());

  // Optimum layout: every graph at the root.
  hub.add_repo("someone/optimum", kCommit, tiny_model_dir());
  const fs::path optimum = resolve_model("someone/optimum", options);
  EXPECT_TRUE(fs::is_regular_file(optimum / "encoder_model.onnx"));
  EXPECT_TRUE(fs::is_regular_file(optimum / "decoder_model_merged.onnx"));
  EXPECT_FALSE(fs::exists(optimum / "reference.json"));
  EXPECT_FALSE(fs::exists(optimum / "weights.npz"));

  // No merged decoder: the split pair; a variant suffix; external data next to a graph.
  TempDir copy;
  const fs::path repo = copy_fixture(tiny_xenova_dir(), copy.path() / "model");
  for (const char* stem : {"encoder_model", "decoder_model", "decoder_with_past_model"})
    fs::rename(repo / "onnx" / (std::string(stem) + ".onnx"), repo / "onnx" / (std::string(stem) + "_quantized.onnx"));
  fs::remove(repo / "onnx" / "decoder_model_merged.onnx");
  std::ofstream(repo / "onnx" / "encoder_model_quantized.onnx_data") << "external weights";
  hub.add_repo("someone/split", kCommit, repo);
  HubOptions quantized = options;
  quantized.variant = "quantized";
  const fs::path split = resolve_model("someone/split", quantized);
  for (const char* file : {"onnx/encoder_model_quantized.onnx", "onnx/decoder_model_quantized.onnx",
                           "onnx/decoder_with_past_model_quantized.onnx", "onnx/encoder_model_quantized.onnx_data"})
    EXPECT_TRUE(fs::is_regular_file(split / file)) << file;
  EXPECT_EQ(slurp(split / "onnx/encoder_model_quantized.onnx_data"), "external weights");
  // transformers.js's dtype q8 is the `_quantized` files: the same snapshot, no `_q8` asked for.
  HubOptions q8 = options;
  q8.variant = "q8";
  EXPECT_EQ(resolve_model("someone/split", q8), split);

  // An export without past (Optimum's --task text2text-generation): decoder_model alone, which
  // the engine runs in recompute mode.
  hub.add_repo("someone/nopast", kCommit, fixtures_dir() / "tiny-nopast");
  const fs::path nopast = resolve_model("someone/nopast", options);
  EXPECT_TRUE(fs::is_regular_file(nopast / "decoder_model.onnx"));
  EXPECT_FALSE(fs::exists(nopast / "decoder_with_past_model.onnx"));
  EXPECT_EQ(Translator(nopast).model_info().decoder_mode, DecoderMode::kRecompute);
  EXPECT_TRUE(fs::exists(home.path() / "hub" / "models--someone--nopast" / ".no_exist" / kCommit /
                         "decoder_with_past_model.onnx"));
  // Without the hub's word that the with-past graph does not exist, decoder_model alone is a
  // download that stopped: offline, the cache is incomplete, naming the file.
  fs::remove_all(home.path() / "hub" / "models--someone--nopast" / ".no_exist");
  HubOptions offline = options;
  offline.offline = true;
  const std::string incomplete = error_of([&] { resolve_model("someone/nopast", offline); });
  EXPECT_NE(incomplete.find("decoder_with_past_model.onnx"), std::string::npos) << incomplete;

  // One file at a time.
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  const fs::path weights = hub_download(kRepo, "weights.npz", options);
  EXPECT_TRUE(same_bytes(weights, tiny_xenova_dir() / "weights.npz"));
  EXPECT_NE(error_of([&] { hub_download(kRepo, "nope.bin", options); }).find("nope.bin"), std::string::npos);
}

TEST(Hub, ServerErrorsAreRetriedThenReported) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  FakeHub::Fault busy;
  busy.times = 2;
  busy.status = 503;
  hub.set_fault("source.spm", busy);
  EXPECT_TRUE(fs::is_regular_file(resolve_model(kRepo, options_for(hub, home.path())) / "source.spm"));

  TempDir home2;
  FakeHub::Fault broken;
  broken.times = -1;
  broken.status = 500;
  hub.set_fault("target.spm", broken);
  HubOptions options = options_for(hub, home2.path());
  options.max_retries = 1;
  const std::string message = error_of([&] { resolve_model(kRepo, options); });
  EXPECT_NE(message.find("HTTP 500"), std::string::npos) << message;
  EXPECT_NE(message.find("/resolve/" + std::string(kCommit) + "/target.spm"), std::string::npos) << message;
}

TEST(Hub, ConcurrentResolvesShareOneDownload) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  const HubOptions options = options_for(hub, home.path());
  std::vector<fs::path> results(3);
  std::vector<std::string> errors(3);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        results[i] = resolve_model(kRepo, options);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(errors[i], "");
    EXPECT_EQ(results[i], snapshot_dir(home.path()));
  }
  EXPECT_TRUE(same_bytes(snapshot_dir(home.path()) / kMerged, tiny_xenova_dir() / kMerged));
  EXPECT_TRUE(files_named(home.path(), ".incomplete").empty());
}

// ---- the real hub's protocol (issue 14) ----------------------------------------------------------

std::vector<FakeHub::Request> requests_for(FakeHub& hub, const std::string& path_part, const std::string& method = "") {
  std::vector<FakeHub::Request> found;
  for (const FakeHub::Request& r : hub.requests()) {
    if (r.path.find(path_part) != std::string::npos && (method.empty() || r.method == method)) found.push_back(r);
  }
  return found;
}

double seconds_between(const FakeHub::Request& a, const FakeHub::Request& b) {
  return std::chrono::duration<double>(b.at - a.at).count();
}

double seconds_of(const std::function<void()>& call) {
  const auto start = std::chrono::steady_clock::now();
  call();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(HubProtocol, RelativeRedirectToResolveCacheKeepsItsQuery) {
  // The hub answers HEAD/GET of a regular file with a 307 to a relative
  // /api/resolve-cache/models/...?...&etag="..." URL; the fake answers 400 there when the query
  // (with the etag) is lost, and the 307's own Content-Length is not the file's size.
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.use_resolve_cache(true);
  HubOptions options = options_for(hub, home.path());
  std::map<std::string, uint64_t> totals;
  options.on_progress = [&](const HubProgress& p) { totals[std::string(p.file)] = p.bytes_total; };
  const fs::path dir = resolve_model(kRepo, options);
  for (const char* file : {"config.json", "vocab.json", "source.spm", "generation_config.json"}) {
    SCOPED_TRACE(file);
    EXPECT_TRUE(same_bytes(dir / file, tiny_xenova_dir() / file));
    EXPECT_EQ(totals[file], fs::file_size(tiny_xenova_dir() / file));
  }
  const std::vector<FakeHub::Request> cached = requests_for(hub, "/api/resolve-cache/models/" + std::string(kRepo) + "/" + kCommit + "/config.json?");
  ASSERT_FALSE(cached.empty());
  for (const FakeHub::Request& r : cached) EXPECT_NE(r.path.find("&etag=%22"), std::string::npos) << r.path;
  EXPECT_TRUE(requests_for(hub, "/api/resolve-cache/", "HEAD").size() >= 4u);
  EXPECT_FALSE(requests_for(hub, "/api/resolve-cache/", "GET").empty());
}

TEST(HubProtocol, StorageRedirectToAnotherHostWithASignedQuery) {
  // LFS files: a 302 to another host with a long signed query and its own body and
  // Content-Length; the size comes from X-Linked-Size, the token stays with the hub.
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.cdn_on_other_host(true);
  hub.require_token("hf_secret");
  HubOptions options = options_for(hub, home.path());
  options.token = "hf_secret";
  std::map<std::string, uint64_t> totals;
  options.on_progress = [&](const HubProgress& p) { totals[std::string(p.file)] = p.bytes_total; };
  const fs::path dir = resolve_model(kRepo, options);
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  EXPECT_EQ(totals[kMerged], fs::file_size(tiny_xenova_dir() / kMerged));
  const std::vector<FakeHub::Request> storage = requests_for(hub, "/cdn/");
  ASSERT_FALSE(storage.empty());
  for (const FakeHub::Request& r : storage) {
    EXPECT_EQ(r.method, "GET");
    EXPECT_NE(r.path.find("&X-Amz-Signature="), std::string::npos) << r.path;
    EXPECT_GT(r.path.size(), 900u);
    EXPECT_EQ(r.header("authorization"), "") << "the token must not go to the storage host";
    EXPECT_EQ(r.header("host").rfind("localhost:", 0), 0u) << r.header("host");
  }
}

TEST(HubProtocol, ResumeAcrossTheStorageRedirect) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.cdn_on_other_host(true);
  HubOptions options = options_for(hub, home.path());
  options.max_retries = 0;
  FakeHub::Fault drop;
  drop.close_after = 100000;
  hub.set_fault(kMerged, drop);
  EXPECT_NE(error_of([&] { resolve_model(kRepo, options); }).find("resume"), std::string::npos);
  hub.clear_requests();
  const fs::path dir = resolve_model(kRepo, options);
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  // The Range request goes to the hub's resolve URL of the pinned commit and follows the 302
  // to the storage host, which answers the rest only.
  const std::string sha = hub.sha256_of(kRepo, kMerged);
  const std::vector<FakeHub::Request> resolve = requests_for(hub, "/resolve/" + std::string(kCommit) + "/" + kMerged, "GET");
  ASSERT_EQ(resolve.size(), 1u);
  EXPECT_EQ(resolve[0].header("range"), "bytes=100000-");
  const std::vector<FakeHub::Request> storage = requests_for(hub, "/cdn/" + sha + "?", "GET");
  ASSERT_EQ(storage.size(), 1u);
  EXPECT_EQ(storage[0].header("range"), "bytes=100000-");
}

TEST(HubProtocol, WeakAndUpperCaseLinkedEtags) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.linked_etag_header("X-LINKED-ETAG");  // header names are case-insensitive
  std::string upper = hub.sha256_of(kRepo, kMerged);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  FakeHub::Fault weak;
  weak.times = -1;
  weak.etag = "W/\"" + upper + "\"";
  hub.set_fault(kMerged, weak);
  const fs::path dir = resolve_model(kRepo, options_for(hub, home.path()));
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  // The blob is named as huggingface_hub names it (W/ and quotes stripped), and recognised as LFS:
  // its sha256 is checked case-insensitively, so a corrupt copy is refused.
  EXPECT_EQ(fs::read_symlink(dir / kMerged).filename(), upper);
  TempDir home2;
  weak.corrupt = true;
  hub.set_fault(kMerged, weak);
  const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home2.path())); });
  EXPECT_NE(message.find("sha256"), std::string::npos) << message;
}

TEST(HubProtocol, RenamedRepositoryRelativeRedirectIsFollowed) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.rename_repo("Helsinki-NLP/opus-mt-old", kRepo);
  hub.require_token("hf_secret");
  HubOptions options = options_for(hub, home.path());
  options.token = "hf_secret";
  const fs::path dir = resolve_model("Helsinki-NLP/opus-mt-old", options);
  EXPECT_EQ(dir, home.path() / "hub" / "models--Helsinki-NLP--opus-mt-old" / "snapshots" / kCommit);
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  EXPECT_TRUE(same_bytes(dir / "config.json", tiny_xenova_dir() / "config.json"));
  const std::vector<FakeHub::Request> renamed = requests_for(hub, "/" + std::string(kRepo) + "/resolve/", "HEAD");
  ASSERT_FALSE(renamed.empty());
  for (const FakeHub::Request& r : renamed) EXPECT_EQ(r.header("authorization"), "Bearer hf_secret");  // same host
}

TEST(HubProtocol, MirrorRedirectingToAnotherHostIsFollowed) {
  // HF_ENDPOINT is a mirror answering every request with an absolute 308 to a second host, which
  // carries the metadata (and its own 302 to storage for LFS files).
  TempDir home;
  FakeHub origin;
  origin.add_repo(kRepo, kCommit, tiny_xenova_dir());
  FakeHub mirror;
  mirror.redirect_everything_to("http://localhost:" + origin.endpoint().substr(origin.endpoint().rfind(':') + 1));
  HubOptions options = options_for(mirror, home.path());
  options.token = "hf_secret";
  const fs::path dir = resolve_model(kRepo, options);
  EXPECT_EQ(dir, snapshot_dir(home.path()));
  EXPECT_EQ(slurp(repo_dir(home.path()) / "refs" / "main"), kCommit);
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  EXPECT_TRUE(same_bytes(dir / "vocab.json", tiny_xenova_dir() / "vocab.json"));
  EXPECT_GT(mirror.count("HEAD"), 0u);
  EXPECT_GT(origin.count("HEAD"), 0u);
  for (const FakeHub::Request& r : mirror.requests()) EXPECT_EQ(r.header("authorization"), "Bearer hf_secret");
  for (const FakeHub::Request& r : origin.requests())
    EXPECT_EQ(r.header("authorization"), "") << "the token must not follow the mirror to another host: " << r.path;
}

TEST(HubProtocol, GatedRepositoryIsNamed) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  const std::vector<std::pair<std::string, std::string>> gated = {
      {"X-Error-Code", "GatedRepo"},
      {"X-Error-Message", "Access to model Helsinki-NLP/opus-mt-tiny is restricted. You must have access to it and be authenticated to access it. Please log in."}};
  hub.script({"", "", 401, gated, -1});
  const std::string anonymous = error_of([&] { resolve_model(kRepo, options_for(hub, home.path())); });
  EXPECT_NE(anonymous.find("401"), std::string::npos) << anonymous;
  EXPECT_NE(anonymous.find("gated repository"), std::string::npos) << anonymous;
  EXPECT_NE(anonymous.find(hub.endpoint() + "/" + kRepo), std::string::npos) << anonymous;
  EXPECT_NE(anonymous.find("HF_TOKEN"), std::string::npos) << anonymous;

  hub.clear_faults();
  hub.script({"", "", 403, gated, -1});
  HubOptions with_token = options_for(hub, home.path());
  with_token.token = "hf_not_yet_granted";
  const std::string refused = error_of([&] { hub_download(kRepo, "config.json", with_token); });
  EXPECT_NE(refused.find("403"), std::string::npos) << refused;
  EXPECT_NE(refused.find("gated repository"), std::string::npos) << refused;
  EXPECT_NE(refused.find("not been granted access"), std::string::npos) << refused;
  EXPECT_FALSE(fs::exists(repo_dir(home.path()) / "blobs"));
}

TEST(HubProtocol, NotFoundWithoutTheHubsErrorCodeIsNotRecorded) {
  // A proxy's 404 (no X-Error-Code) must not poison the cache: only EntryNotFound with a commit
  // goes to .no_exist, as in huggingface_hub.
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.script({"target_vocab.json", "", 404, {}, -1});
  hub.script({"decoder_model_merged.onnx_data", "", 404, {{"X-Error-Code", "EntryNotFound"}}, -1});  // no commit
  const fs::path dir = resolve_model(kRepo, options_for(hub, home.path()));
  EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  const fs::path no_exist = repo_dir(home.path()) / ".no_exist" / kCommit;
  EXPECT_FALSE(fs::exists(no_exist / "target_vocab.json"));
  EXPECT_FALSE(fs::exists(no_exist / "onnx/decoder_model_merged.onnx_data"));
  EXPECT_TRUE(fs::exists(no_exist / "onnx/encoder_model.onnx_data"));  // the hub said so, at this commit

  // A required file answered with a bare 404: the error says it was not the hub's answer...
  TempDir home2;
  hub.clear_faults();
  hub.script({"vocab.json", "HEAD", 404, {}, -1});
  const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home2.path())); });
  EXPECT_NE(message.find("vocab.json"), std::string::npos) << message;
  EXPECT_NE(message.find("X-Error-Code"), std::string::npos) << message;
  // ... and a complete cache is used instead.
  EXPECT_EQ(resolve_model(kRepo, options_for(hub, home.path())), dir);
}

TEST(HubProtocol, RateLimitWaitsAsLongAsTheHubSays) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  // RateLimit's t= wins over Retry-After when no request remains (r=0), plus 1 s as t is rounded down.
  hub.script({"/config.json", "HEAD", 429,
              {{"RateLimit", "\"resolvers\";r=0;t=2"}, {"RateLimit-Policy", "\"fixed window\";\"resolvers\";q=3000;w=300"},
               {"Retry-After", "1"}},
              1});
  HubOptions options = options_for(hub, home.path());
  resolve_model(kRepo, options);
  std::vector<FakeHub::Request> asked = requests_for(hub, "/resolve/main/config.json", "HEAD");
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_GE(seconds_between(asked[0], asked[1]), 2.9);
  EXPECT_LT(seconds_between(asked[0], asked[1]), 6.0);

  // Retry-After alone.
  TempDir home2;
  hub.clear_requests();
  hub.script({"/source.spm", "HEAD", 429, {{"Retry-After", "1"}}, 1});
  resolve_model(kRepo, options_for(hub, home2.path()));
  asked = requests_for(hub, "/source.spm", "HEAD");
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_GE(seconds_between(asked[0], asked[1]), 0.95);
  EXPECT_LT(seconds_between(asked[0], asked[1]), 2.5);

  // Retry-After as an HTTP date, on a 503.
  TempDir home4;
  hub.clear_requests();
  const std::time_t later = std::time(nullptr) + 2;
  std::tm gmt{};
  ::gmtime_r(&later, &gmt);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &gmt);
  hub.script({"/target.spm", "HEAD", 503, {{"Retry-After", date}}, 1});
  resolve_model(kRepo, options_for(hub, home4.path()));
  asked = requests_for(hub, "/target.spm", "HEAD");
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_GE(seconds_between(asked[0], asked[1]), 0.9);  // the date has whole seconds
  EXPECT_LT(seconds_between(asked[0], asked[1]), 4.0);

  // Asked to wait longer than max_retry_wait_s: no waiting, an error saying why and how long.
  TempDir home3;
  hub.script({"/config.json", "HEAD", 429, {{"RateLimit", "\"resolvers\";r=0;t=120"}}, -1});
  HubOptions impatient = options_for(hub, home3.path());
  impatient.max_retry_wait_s = 10;
  std::string message;
  EXPECT_LT(seconds_of([&] { message = error_of([&] { resolve_model(kRepo, impatient); }); }), 2.0);
  EXPECT_NE(message.find("429"), std::string::npos) << message;
  EXPECT_NE(message.find("'resolvers' rate limit resets in 120 s"), std::string::npos) << message;
  EXPECT_NE(message.find("HF_TOKEN"), std::string::npos) << message;
}

TEST(HubProtocol, FailingHubFallsBackToACompleteCache) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  HubOptions options = options_for(hub, home.path());
  const fs::path dir = resolve_model(kRepo, options);

  // 503, 429 and 401 answers, an answer without metadata: the cached snapshot, at once (no retries).
  const std::vector<FakeHub::Scripted> failures = {
      {"", "", 503, {{"Retry-After", "30"}}, -1},
      {"", "", 429, {{"RateLimit", "\"resolvers\";r=0;t=200"}}, -1},
      {"", "", 401, {{"X-Error-Message", "Invalid credentials in Authorization header"}}, -1},
      {"", "", 200, {{"Content-Type", "text/html"}}, -1},  // a captive portal
  };
  for (const FakeHub::Scripted& failure : failures) {
    SCOPED_TRACE(failure.status);
    hub.clear_faults();
    hub.clear_requests();
    hub.script(failure);
    fs::path got;
    EXPECT_LT(seconds_of([&] { got = resolve_model(kRepo, options); }), 2.0);
    EXPECT_EQ(got, dir);
    EXPECT_EQ(hub.requests().size(), 1u);
    EXPECT_EQ(hub_download(kRepo, "config.json", options), dir / "config.json");
  }

  // A proxy breaking TLS (plain HTTP where TLS was expected).
  hub.clear_faults();
  HubOptions tls = options;
  tls.endpoint = "https://127.0.0.1:" + hub.endpoint().substr(hub.endpoint().rfind(':') + 1);
  hub.clear_requests();
  EXPECT_EQ(resolve_model(kRepo, tls), dir);
  EXPECT_EQ(hub.count("TLS"), 1u);

  // Nothing cached: the hub's answer is the error (503 after the retries).
  TempDir empty;
  HubOptions fresh = options_for(hub, empty.path());
  fresh.max_retries = 1;
  hub.script({"", "", 503, {}, -1});
  const std::string message = error_of([&] { resolve_model(kRepo, fresh); });
  EXPECT_NE(message.find("HTTP 503"), std::string::npos) << message;
  hub.clear_faults();
  HubOptions tls_fresh = tls;
  tls_fresh.cache_dir = empty.path() / "hub";
  tls_fresh.max_retries = 0;
  const std::string tls_message = error_of([&] { resolve_model(kRepo, tls_fresh); });
  EXPECT_NE(tls_message.find("cannot reach the hub"), std::string::npos) << tls_message;
  EXPECT_NE(tls_message.find("not in the Hugging Face cache"), std::string::npos) << tls_message;
  // The repository and revision are named once, in front.
  const std::string label = std::string(kRepo) + "@";
  EXPECT_EQ(tls_message.find(label), 0u) << tls_message;
  EXPECT_EQ(tls_message.find(label, 1), std::string::npos) << tls_message;
}

TEST(HubProtocol, CachedCommitRevisionNeverAsksTheHub) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  HubOptions options = options_for(hub, home.path());
  options.revision = kCommit;
  const fs::path dir = resolve_model(kRepo, options);
  EXPECT_EQ(dir, snapshot_dir(home.path()));
  hub.clear_requests();
  hub.script({"", "", 503, {}, -1});
  EXPECT_EQ(resolve_model(kRepo, options), dir);
  EXPECT_EQ(hub_download(kRepo, "vocab.json", options), dir / "vocab.json");
  EXPECT_TRUE(hub.requests().empty());
  // A branch is always asked about (it may have moved), and here the 503 sends it to the cache.
  HubOptions branch = options_for(hub, home.path());
  EXPECT_FALSE(fs::exists(repo_dir(home.path()) / "refs" / "main"));
  EXPECT_NE(error_of([&] { resolve_model(kRepo, branch); }).find("503"), std::string::npos);
  EXPECT_FALSE(hub.requests().empty());
}

TEST(HubProtocol, ExternalDataShardsTheConfigCounts) {
  TempDir copy;
  const fs::path repo = copy_fixture(tiny_xenova_dir(), copy.path() / "model");
  {
    std::ifstream in(repo / "config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    config["transformers.js_config"] = {{"use_external_data_format", {{"encoder_model.onnx", 3}, {"decoder_model_merged", true}}}};
    std::ofstream(repo / "config.json") << config.dump(2);
  }
  for (const char* shard : {"encoder_model.onnx_data", "encoder_model.onnx_data_1", "encoder_model.onnx_data_2",
                            "decoder_model_merged.onnx_data"})
    std::ofstream(repo / "onnx" / shard) << "weights of " << shard;
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, repo);
  HubOptions options = options_for(hub, home.path());
  const fs::path dir = resolve_model(kRepo, options);
  for (const char* shard : {"encoder_model.onnx_data", "encoder_model.onnx_data_1", "encoder_model.onnx_data_2",
                            "decoder_model_merged.onnx_data"})
    EXPECT_EQ(slurp(dir / "onnx" / shard), std::string("weights of ") + shard);
  EXPECT_TRUE(requests_for(hub, "encoder_model.onnx_data_3").empty());  // the config said 3

  // The cache knows the count too: a shard gone from the snapshot makes it incomplete.
  fs::remove(dir / "onnx/encoder_model.onnx_data_1");
  HubOptions offline = options;
  offline.offline = true;
  EXPECT_NE(error_of([&] { resolve_model(kRepo, offline); }).find("onnx/encoder_model.onnx_data_1"), std::string::npos);

  // A shard the config counts but the repository lacks is named.
  fs::remove(repo / "onnx" / "encoder_model.onnx_data_2");
  hub.add_repo("someone/missing-shard", kCommit, repo);
  TempDir home2;
  const std::string message = error_of([&] { resolve_model("someone/missing-shard", options_for(hub, home2.path())); });
  EXPECT_NE(message.find("onnx/encoder_model.onnx_data_2"), std::string::npos) << message;
  EXPECT_NE(message.find("use_external_data_format"), std::string::npos) << message;

  // The config silent: .onnx_data and the shards that follow it, as many as there are.
  TempDir copy2;
  const fs::path silent = copy_fixture(tiny_xenova_dir(), copy2.path() / "model");
  for (const char* shard : {"encoder_model.onnx_data", "encoder_model.onnx_data_1"})
    std::ofstream(silent / "onnx" / shard) << "weights of " << shard;
  hub.add_repo("someone/silent", kCommit, silent);
  TempDir home3;
  const fs::path silent_dir = resolve_model("someone/silent", options_for(hub, home3.path()));
  EXPECT_EQ(slurp(silent_dir / "onnx/encoder_model.onnx_data_1"), "weights of encoder_model.onnx_data_1");
  EXPECT_TRUE(fs::exists(home3.path() / "hub/models--someone--silent/.no_exist" / kCommit / "onnx/encoder_model.onnx_data_2"));
}

TEST(HubProtocol, AcceptEncodingIdentityAndCompressedAnswersRefused) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  resolve_model(kRepo, options_for(hub, home.path()));
  ASSERT_FALSE(hub.requests().empty());
  for (const FakeHub::Request& r : hub.requests()) EXPECT_EQ(r.header("accept-encoding"), "identity") << r.method << " " << r.path;

  TempDir home2;
  FakeHub::Fault gzip;
  gzip.content_encoding = "gzip";
  hub.set_fault("vocab.json", gzip);
  const std::string message = error_of([&] { resolve_model(kRepo, options_for(hub, home2.path())); });
  EXPECT_NE(message.find("Content-Encoding: gzip"), std::string::npos) << message;
  EXPECT_NE(message.find("vocab.json"), std::string::npos) << message;
}

TEST(HubProtocol, ResumedDownloadHashesTheKeptPrefix) {
  // The sha256 is computed as the file streams in; a resumed download feeds the bytes an earlier
  // run kept first, so damage there is caught although only the rest is fetched again.
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  HubOptions options = options_for(hub, home.path());
  options.max_retries = 0;
  FakeHub::Fault drop;
  drop.close_after = 100000;
  hub.set_fault(kMerged, drop);
  EXPECT_NE(error_of([&] { resolve_model(kRepo, options); }).find("resume"), std::string::npos);
  const fs::path incomplete = repo_dir(home.path()) / "blobs" / (hub.sha256_of(kRepo, kMerged) + ".incomplete");
  ASSERT_EQ(fs::file_size(incomplete), 100000u);
  {
    std::fstream damage(incomplete, std::ios::in | std::ios::out | std::ios::binary);
    damage.seekp(5000);
    damage.put('\x7f');
  }
  hub.clear_requests();
  const std::string message = error_of([&] { resolve_model(kRepo, options); });
  EXPECT_NE(message.find("sha256"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(incomplete));
  const std::vector<FakeHub::Request> storage = requests_for(hub, "/cdn/", "GET");
  ASSERT_EQ(storage.size(), 1u);
  EXPECT_EQ(storage[0].header("range"), "bytes=100000-");
  EXPECT_TRUE(same_bytes(resolve_model(kRepo, options) / kMerged, tiny_xenova_dir() / kMerged));
}

TEST(HubCache, LockFilesAreGroupWritable) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  const mode_t old_mask = ::umask(022);
  resolve_model(kRepo, options_for(hub, home.path()));
  ::umask(old_mask);
  const std::vector<fs::path> locks = files_named(home.path() / "hub" / ".locks", ".lock");
  ASSERT_FALSE(locks.empty());
  for (const fs::path& lock : locks) {
    EXPECT_EQ(fs::status(lock).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::group_write |
                  fs::perms::others_read)
        << lock;
  }
}

TEST(HubEnvironment, VariablesHuggingfaceHubReads) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  hub.require_token("hf_legacy");
  EnvGuard hub_cache("HF_HUB_CACHE", nullptr);
  EnvGuard legacy_cache("HUGGINGFACE_HUB_CACHE", nullptr);
  EnvGuard token("HF_TOKEN", nullptr);
  EnvGuard token_path("HF_TOKEN_PATH", nullptr);
  EnvGuard offline("HF_HUB_OFFLINE", nullptr);
  EnvGuard transformers_offline("TRANSFORMERS_OFFLINE", nullptr);
  EnvGuard endpoint("HF_ENDPOINT", hub.endpoint().c_str());
  // $VAR / ${VAR} and ~ in HF_HOME, as Python's expandvars(expanduser(...)).
  EnvGuard user_home("HOME", home.path().c_str());
  EnvGuard base("OPUSRT_TEST_BASE", "caches");
  EnvGuard hf_home("HF_HOME", "~/${OPUSRT_TEST_BASE}/$OPUSRT_TEST_BASE-hf");
  const fs::path expected_cache = home.path() / "caches" / "caches-hf" / "hub";
  {
    // The older token variable huggingface_hub still reads.
    EnvGuard legacy_token("HUGGING_FACE_HUB_TOKEN", "hf_legacy\n");
    const fs::path dir = resolve_model(kRepo);
    EXPECT_EQ(dir, expected_cache / "models--Helsinki-NLP--opus-mt-tiny" / "snapshots" / kCommit);
    EXPECT_TRUE(same_bytes(dir / kMerged, tiny_xenova_dir() / kMerged));
  }
  // TRANSFORMERS_OFFLINE=1 alone means offline: the hub is not asked.
  hub.clear_requests();
  {
    EnvGuard transformers("TRANSFORMERS_OFFLINE", "1");
    EnvGuard unreachable("HF_ENDPOINT", "http://127.0.0.1:9");
    EXPECT_EQ(resolve_model(kRepo), expected_cache / "models--Helsinki-NLP--opus-mt-tiny" / "snapshots" / kCommit);
    // HF_HUB_OFFLINE, when set, has the last word (as in huggingface_hub).
    EnvGuard not_offline("HF_HUB_OFFLINE", "0");
    HubOptions to_nowhere;
    to_nowhere.connect_timeout_s = 2;
    EXPECT_NE(error_of([&] { hub_download(kRepo, "nope.txt", to_nowhere); }).find("cannot reach"), std::string::npos);
  }
  EXPECT_TRUE(hub.requests().empty());
  // An unset variable stays as written.
  EnvGuard unknown("HF_HOME", (home.path() / "$OPUSRT_NOT_SET_ANYWHERE").c_str());
  EnvGuard legacy_token("HUGGING_FACE_HUB_TOKEN", "hf_legacy");
  EXPECT_EQ(resolve_model(kRepo).parent_path().parent_path().parent_path(),
            home.path() / "$OPUSRT_NOT_SET_ANYWHERE" / "hub");
}

// `opusrt download`, run as a user runs it.
std::pair<int, std::string> run_download(const std::string& env, const std::string& args, std::string* err = nullptr) {
  TempDir io;
  const fs::path out = io.path() / "out", error = io.path() / "err";
  const std::string command = "env -u HF_HUB_OFFLINE -u HF_TOKEN -u HF_HUB_CACHE " + env + " '" +
                              env_path("OPUSRT_CLI").string() + "' download " + args + " > '" + out.string() +
                              "' 2> '" + error.string() + "' < /dev/null";
  const int status = std::system(command.c_str());
  if (err != nullptr) *err = slurp(error);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out)};
}

TEST(HubCli, DownloadPrintsTheSnapshotDirectory) {
  TempDir home;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  const std::string env = "HF_ENDPOINT=" + hub.endpoint() + " HF_HOME='" + home.path().string() + "'";
  std::string err;
  const auto [code, out] = run_download(env, kRepo, &err);
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(out, snapshot_dir(home.path()).string() + "\n");
  EXPECT_EQ(err, "");  // no progress bar when stderr is not a terminal

  const auto [offline_code, offline_out] = run_download(env + " HF_HUB_OFFLINE=1", std::string(kRepo) + " --revision main", &err);
  EXPECT_EQ(offline_code, 0) << err;
  EXPECT_EQ(offline_out, out);

  const auto [bad_code, bad_out] = run_download(env, "'not a model'", &err);
  EXPECT_NE(bad_code, 0);
  EXPECT_NE(err.find("owner/name"), std::string::npos) << err;

  const auto [variant_code, variant_out] = run_download(env, std::string(kRepo) + " --variant fp16", &err);
  EXPECT_NE(variant_code, 0);
  EXPECT_NE(err.find("encoder_model_fp16.onnx"), std::string::npos) << err;
}

}  // namespace
}  // namespace opusrt::test

namespace opusrt::test {
namespace {

// `opusrt serve --model OWNER/NAME` downloads the model like `opusrt download`, then serves it.
TEST(HubCli, ServeTakesAHubId) {
  TempDir home, io;
  FakeHub hub;
  hub.add_repo(kRepo, kCommit, tiny_xenova_dir());
  const fs::path out = io.path() / "out", error = io.path() / "err";
  const std::string command =
      "env -u HF_HUB_OFFLINE -u HF_TOKEN -u HF_HUB_CACHE HF_ENDPOINT=" + hub.endpoint() + " HF_HOME='" +
      home.path().string() + "' '" + env_path("OPUSRT_CLI").string() + "' serve --model " + kRepo +
      " --port 0 --no-web > '" + out.string() + "' 2> '" + error.string() +
      "' < /dev/null & pid=$!; for i in $(seq 1 1200); do grep -q 'listening on' '" + out.string() +
      "' && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done; kill -TERM $pid; wait $pid";
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(error);
  EXPECT_NE(slurp(out).find("listening on http://127.0.0.1:"), std::string::npos) << slurp(out) << slurp(error);
  EXPECT_NE(slurp(out).find("(model " + snapshot_dir(home.path()).string()), std::string::npos) << slurp(out);
}

}  // namespace
}  // namespace opusrt::test
