// Tests of procmond/collector_service.hpp: every task type, filters, process
// trees, hashing (with the cache) and thread safety, on the fixture tree and on
// this machine's real processes.
#include "procmond/collector_service.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "procmond/child_process.hpp"
#include "procmond/file_hash.hpp"
#include "procmond/proc_collector_linux.hpp"
#include "procmond/proc_fixture.hpp"
#include "support/temp_dir.hpp"

namespace daemoneye::procmond {
namespace {

using namespace std::chrono_literals;
using test::child_process;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace wire = daemoneye::wire;

constexpr std::string_view abc_sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

collector_service fixture_service(collector_service_options options = {}, std::string root = {}) {
  if (root.empty()) root = test::proc_fixture_root();
  return collector_service(std::make_unique<proc_collector_linux>(proc_collector_options{.proc_root = root}), options);
}

collector_service live_service(collector_service_options options = {}) {
  return collector_service(std::make_unique<proc_collector_linux>(), options);
}

DetectionTask task_of(ipc::TaskType type, std::string id = "task-1") {
  return ipc::tasks::new_test_task(std::move(id), type);
}

DetectionTask enumerate_with(const std::function<void(ipc::ProcessFilter&)>& fill,
                             ipc::TaskType type = wire::ENUMERATE_PROCESSES) {
  auto task = task_of(type);
  fill(*task.mutable_process_filter());
  return task;
}

DetectionTask hash_task(const std::string& path, std::string expected, std::string algorithm = "sha256",
                        ipc::TaskType type = wire::CHECK_PROCESS_HASH) {
  auto task = task_of(type, "hash-1");
  auto* check = task.mutable_hash_check();
  check->set_executable_path(path);
  check->set_expected_hash(std::move(expected));
  check->set_hash_algorithm(std::move(algorithm));
  return task;
}

std::vector<std::uint32_t> pids_of(const DetectionResult& r) {
  std::vector<std::uint32_t> pids;
  for (const auto& p : r.processes()) pids.push_back(p.pid());
  return pids;
}

const ProcessRecord* find_pid(const DetectionResult& r, std::uint32_t pid) {
  for (const auto& p : r.processes()) {
    if (p.pid() == pid) return &p;
  }
  return nullptr;
}

std::string write_file(const daemoneye::test::temp_dir& dir, const std::string& name, std::string_view content) {
  const auto path = dir.file(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// ---- enumeration and filters (fixture tree) -------------------------------------

TEST(CollectorService, EnumeratesEveryProcessWithoutFilter) {
  auto service = fixture_service();
  auto r = service.handle(task_of(wire::ENUMERATE_PROCESSES, "enum-7"));
  EXPECT_TRUE(r.success()) << r.error_message();
  EXPECT_EQ(r.task_id(), "enum-7");
  EXPECT_THAT(pids_of(r), ElementsAre(1, 2, 100, 101, 200, 300, 400, 500));
  EXPECT_FALSE(r.processes(0).has_executable_hash());  // hashing is off by default
}

TEST(CollectorService, EmptyFilterSelectsEverything) {
  auto service = fixture_service();
  auto r = service.handle(enumerate_with([](auto&) {}));
  EXPECT_THAT(pids_of(r), ElementsAre(1, 2, 100, 101, 200, 300, 400, 500));
}

TEST(CollectorService, FiltersByExactName) {
  auto service = fixture_service();
  EXPECT_THAT(pids_of(service.handle(enumerate_with([](auto& f) { f.add_process_names("systemd"); }))), ElementsAre(1));
  EXPECT_THAT(pids_of(service.handle(enumerate_with([](auto& f) {
                f.add_process_names("(sd-pam)");
                f.add_process_names("a) b (c");
              }))),
              ElementsAre(100, 101));
  EXPECT_THAT(pids_of(service.handle(enumerate_with([](auto& f) { f.add_process_names("system"); }))), IsEmpty());
}

TEST(CollectorService, FiltersByPid) {
  auto service = fixture_service();
  auto r = service.handle(enumerate_with([](auto& f) {
    f.add_pids(200);
    f.add_pids(2);
    f.add_pids(9999);
  }));
  EXPECT_TRUE(r.success());
  EXPECT_THAT(pids_of(r), ElementsAre(2, 200));
}

TEST(CollectorService, FiltersByExecutableGlob) {
  auto service = fixture_service();
  EXPECT_THAT(pids_of(service.handle(enumerate_with([](auto& f) { f.set_executable_pattern("/bin/*"); }))),
              ElementsAre(1, 100, 101, 400, 500));
  EXPECT_THAT(pids_of(service.handle(enumerate_with([](auto& f) { f.set_executable_pattern("*/pay[a-z]oad"); }))),
              ElementsAre(300));
  EXPECT_THAT(pids_of(service.handle(enumerate_with([](auto& f) { f.set_executable_pattern("/usr/*"); }))), IsEmpty());
}

TEST(CollectorService, FilterFieldsCombineWithAnd) {
  auto service = fixture_service();
  EXPECT_THAT(pids_of(service.handle(enumerate_with([](auto& f) {
                f.add_process_names("systemd");
                f.add_process_names("kthreadd");
                f.add_pids(2);
              }))),
              ElementsAre(2));
  // pid 2 has no executable, so the pattern excludes it.
  EXPECT_THAT(pids_of(service.handle(enumerate_with([](auto& f) {
                f.add_pids(2);
                f.add_pids(100);
                f.set_executable_pattern("/bin/*");
              }))),
              ElementsAre(100));
}

// ---- process trees ------------------------------------------------------------------

TEST(CollectorService, ProcessTreeIsTheSelectedProcessesAndTheirDescendants) {
  auto service = fixture_service();
  auto r = service.handle(enumerate_with([](auto& f) { f.add_pids(100); }, wire::MONITOR_PROCESS_TREE));
  EXPECT_TRUE(r.success());
  EXPECT_THAT(pids_of(r), ElementsAre(100, 101, 300));
  r = service.handle(enumerate_with([](auto& f) { f.add_process_names("systemd"); }, wire::MONITOR_PROCESS_TREE));
  EXPECT_THAT(pids_of(r), ElementsAre(1, 100, 101, 200, 300, 400, 500));
}

TEST(CollectorService, ProcessTreeWithoutFilterIsEverything) {
  auto service = fixture_service();
  auto r = service.handle(task_of(wire::MONITOR_PROCESS_TREE));
  EXPECT_TRUE(r.success());
  EXPECT_THAT(pids_of(r), ElementsAre(1, 2, 100, 101, 200, 300, 400, 500));
}

// ---- hash checks ----------------------------------------------------------------------

TEST(CollectorService, HashMatchSucceeds) {
  daemoneye::test::temp_dir dir;
  const auto path = write_file(dir, "abc.txt", "abc");
  auto service = fixture_service();
  for (auto type : {wire::CHECK_PROCESS_HASH, wire::VERIFY_EXECUTABLE}) {
    auto r = service.handle(hash_task(path, std::string(abc_sha256), "sha256", type));
    EXPECT_TRUE(r.success()) << r.error_message();
    EXPECT_EQ(r.task_id(), "hash-1");
    ASSERT_TRUE(r.has_hash_result());
    EXPECT_EQ(r.hash_result().hash_value(), abc_sha256);
    EXPECT_EQ(r.hash_result().algorithm(), "sha256");
    EXPECT_EQ(r.hash_result().file_path(), path);
    EXPECT_TRUE(r.hash_result().success());
    EXPECT_FALSE(r.hash_result().has_error_message());
  }
}

TEST(CollectorService, HashComparisonIgnoresCaseOfExpectedValueAndAlgorithm) {
  daemoneye::test::temp_dir dir;
  const auto path = write_file(dir, "abc.txt", "abc");
  auto service = fixture_service();
  std::string upper(abc_sha256);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto r = service.handle(hash_task(path, upper, "SHA256"));
  EXPECT_TRUE(r.success()) << r.error_message();
  EXPECT_EQ(r.hash_result().hash_value(), abc_sha256);
}

TEST(CollectorService, EmptyExpectedHashJustComputes) {
  daemoneye::test::temp_dir dir;
  const auto path = write_file(dir, "abc.txt", "abc");
  auto service = fixture_service();
  for (std::string algorithm : {"sha256", ""}) {
    auto r = service.handle(hash_task(path, "", algorithm, wire::VERIFY_EXECUTABLE));
    EXPECT_TRUE(r.success()) << r.error_message();
    EXPECT_EQ(r.hash_result().hash_value(), abc_sha256);
    EXPECT_TRUE(r.hash_result().success());
  }
}

TEST(CollectorService, HashMismatchFailsNamingBothHashes) {
  daemoneye::test::temp_dir dir;
  const auto path = write_file(dir, "abc.txt", "abd");
  auto service = fixture_service();
  auto r = service.handle(hash_task(path, std::string(abc_sha256)));
  EXPECT_FALSE(r.success());
  EXPECT_EQ(r.task_id(), "hash-1");
  const std::string computed = "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9";  // sha256("abd")
  EXPECT_THAT(r.error_message(), HasSubstr(std::string(abc_sha256)));
  EXPECT_THAT(r.error_message(), HasSubstr(computed));
  ASSERT_TRUE(r.has_hash_result());
  EXPECT_EQ(r.hash_result().hash_value(), computed);
  EXPECT_FALSE(r.hash_result().success());
  EXPECT_EQ(r.hash_result().file_path(), path);
  // A verdict about the file, not a transport failure the client would retry.
  EXPECT_FALSE(ipc::transport_error_of(r));
}

TEST(CollectorService, MissingFileFailsNamingThePathAndTheReason) {
  daemoneye::test::temp_dir dir;
  const auto path = dir.file("does-not-exist");
  auto service = fixture_service();
  auto r = service.handle(hash_task(path, std::string(abc_sha256), "sha256", wire::VERIFY_EXECUTABLE));
  EXPECT_FALSE(r.success());
  EXPECT_THAT(r.error_message(), HasSubstr(path));
  EXPECT_THAT(r.error_message(), HasSubstr("No such file or directory"));
  ASSERT_TRUE(r.has_hash_result());
  EXPECT_FALSE(r.hash_result().success());
  EXPECT_THAT(r.hash_result().error_message(), HasSubstr(path));
  EXPECT_THAT(r.hash_result().error_message(), HasSubstr("No such file or directory"));
}

TEST(CollectorService, DirectoryIsNotHashed) {
  daemoneye::test::temp_dir dir;
  auto service = fixture_service();
  auto r = service.handle(hash_task(dir.path().string(), ""));
  EXPECT_FALSE(r.success());
  EXPECT_THAT(r.error_message(), HasSubstr("not a regular file"));
}

TEST(CollectorService, UnsupportedAlgorithmNamesTheSupportedOnes) {
  daemoneye::test::temp_dir dir;
  const auto path = write_file(dir, "abc.txt", "abc");
  auto service = fixture_service();
  auto r = service.handle(hash_task(path, "900150983cd24fb0d6963f7d28e17f72", "md5"));
  EXPECT_FALSE(r.success());
  EXPECT_THAT(r.error_message(), HasSubstr("md5"));
  EXPECT_THAT(r.error_message(), HasSubstr("sha256"));
  EXPECT_EQ(r.error_code(), wire::INVALID_TASK);
  EXPECT_FALSE(r.hash_result().success());
}

TEST(CollectorService, HashTaskWithoutHashCheckIsInvalid) {
  auto service = fixture_service();
  for (auto type : {wire::CHECK_PROCESS_HASH, wire::VERIFY_EXECUTABLE}) {
    auto r = service.handle(task_of(type, "no-check"));
    EXPECT_FALSE(r.success());
    EXPECT_EQ(r.task_id(), "no-check");
    EXPECT_EQ(r.error_code(), wire::INVALID_TASK);
    EXPECT_THAT(r.error_message(), HasSubstr("hash_check"));
  }
}

TEST(CollectorService, HashTaskWithEmptyPathOrMalformedExpectedHashIsInvalid) {
  daemoneye::test::temp_dir dir;
  const auto path = write_file(dir, "abc.txt", "abc");
  auto service = fixture_service();
  EXPECT_EQ(service.handle(hash_task("", std::string(abc_sha256))).error_code(), wire::INVALID_TASK);
  EXPECT_EQ(service.handle(hash_task(path, "not-hex")).error_code(), wire::INVALID_TASK);
  EXPECT_EQ(service.handle(hash_task(path, std::string(abc_sha256.substr(1)))).error_code(), wire::INVALID_TASK);
}

// ---- other task types and invalid tasks -------------------------------------------

TEST(CollectorService, UnimplementedTaskTypesAreUnsupported) {
  auto service = fixture_service();
  for (auto type :
       {wire::MONITOR_NETWORK_CONNECTIONS, wire::TRACK_FILE_OPERATIONS, wire::COLLECT_PERFORMANCE_METRICS}) {
    auto r = service.handle(task_of(type, "other-" + std::to_string(type)));
    EXPECT_FALSE(r.success());
    EXPECT_EQ(r.task_id(), "other-" + std::to_string(type));
    EXPECT_EQ(r.error_code(), wire::UNSUPPORTED_TASK);
    EXPECT_THAT(r.error_message(), HasSubstr(ipc::task_type_name(type)));
    EXPECT_THAT(r.processes(), IsEmpty());
  }
}

TEST(CollectorService, InvalidTasksAreRejected) {
  auto service = fixture_service();
  EXPECT_EQ(service.handle(task_of(wire::ENUMERATE_PROCESSES, "")).error_code(), wire::INVALID_TASK);
  auto unknown = task_of(wire::ENUMERATE_PROCESSES, "unknown-type");
  unknown.set_task_type(static_cast<ipc::TaskType>(99));
  auto r = service.handle(unknown);
  EXPECT_EQ(r.error_code(), wire::INVALID_TASK);
  EXPECT_EQ(r.task_id(), "unknown-type");
}

TEST(CollectorService, UnreadableProcessTableIsAHandlerFailure) {
  auto service = fixture_service({}, "/nonexistent/daemoneye-proc");
  auto r = service.handle(task_of(wire::ENUMERATE_PROCESSES, "enum-x"));
  EXPECT_FALSE(r.success());
  EXPECT_EQ(r.task_id(), "enum-x");
  EXPECT_EQ(r.error_code(), wire::HANDLER_FAILED);
  EXPECT_THAT(r.error_message(), HasSubstr("/nonexistent/daemoneye-proc"));
}

// ---- hashing during enumeration ---------------------------------------------------

TEST(CollectorService, EnumerationHashesEachExecutableOnceThanksToTheCache) {
  auto service = fixture_service({.hash_executables = true});
  const auto sh = sha256_file("/bin/sh");
  ASSERT_TRUE(sh);
  auto first = service.handle(task_of(wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(first.success());
  // pids 1, 100, 101, 400 and 500 all run /bin/sh: one file, one computation.
  EXPECT_EQ(service.hash_computations(), 1U);
  for (auto pid : {1U, 100U, 101U, 400U, 500U}) {
    const auto* p = find_pid(first, pid);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->executable_hash(), *sh) << pid;
    EXPECT_EQ(p->hash_algorithm(), "sha256") << pid;
  }
  for (auto pid : {2U, 200U, 300U}) EXPECT_FALSE(find_pid(first, pid)->has_executable_hash()) << pid;

  auto second = service.handle(task_of(wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(second.success());
  EXPECT_EQ(service.hash_computations(), 1U);
  EXPECT_EQ(find_pid(second, 1)->executable_hash(), *sh);
}

TEST(CollectorService, ChangedExecutableIsHashedAgain) {
  daemoneye::test::temp_dir dir;
  const auto root = test::copy_proc_fixture(dir);
  const auto exe = write_file(dir, "tool", "abc");
  std::filesystem::remove(root + "/1/exe");
  std::filesystem::create_symlink(exe, root + "/1/exe");
  auto service = fixture_service({.hash_executables = true}, root);
  auto task = enumerate_with([](auto& f) { f.add_pids(1); });

  EXPECT_EQ(service.handle(task).processes(0).executable_hash(), abc_sha256);
  EXPECT_EQ(service.handle(task).processes(0).executable_hash(), abc_sha256);
  EXPECT_EQ(service.hash_computations(), 1U);

  std::ofstream(exe, std::ios::binary | std::ios::trunc) << "abd";  // same size, new content
  EXPECT_EQ(service.handle(task).processes(0).executable_hash(),
            "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9");
  EXPECT_EQ(service.hash_computations(), 2U);
}

// ---- capabilities ------------------------------------------------------------------

TEST(CollectorService, CanReadAllProcessesOnlyWhenEveryProcessWasAccessible) {
  auto with_locked = fixture_service();
  EXPECT_FALSE(with_locked.can_read_all_processes());  // pid 400's cmdline cannot be read
  EXPECT_FALSE(with_locked.capabilities().advanced().system_wide());

  daemoneye::test::temp_dir dir;
  const auto root = test::copy_proc_fixture(dir);
  std::filesystem::remove_all(root + "/400");
  auto readable = fixture_service({}, root);
  EXPECT_TRUE(readable.can_read_all_processes());
  const auto caps = readable.capabilities();
  EXPECT_TRUE(caps.advanced().system_wide());
  EXPECT_THAT(caps.supported_domains(), ElementsAre(wire::PROCESS));
}

// ---- thread safety -----------------------------------------------------------------

TEST(CollectorService, ConcurrentTasksAllSucceed) {
  auto service = fixture_service({.hash_executables = true});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto type = (i + t) % 2 == 0 ? wire::ENUMERATE_PROCESSES : wire::MONITOR_PROCESS_TREE;
        auto id = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto r = service.handle(task_of(type, id));
        if (!r.success() || r.task_id() != id || r.processes_size() != 8) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(service.hash_computations(), 4U);  // at worst each thread hashed /bin/sh once before the cache had it
}

// ---- the real /proc ----------------------------------------------------------------

TEST(CollectorServiceLive, FindsThisProcessByNamePidAndGlob) {
  auto service = live_service();
  const auto self = static_cast<std::uint32_t>(::getpid());
  const auto exe = std::filesystem::read_symlink("/proc/self/exe");
  auto by_pid = service.handle(enumerate_with([&](auto& f) { f.add_pids(self); }));
  EXPECT_THAT(pids_of(by_pid), ElementsAre(self));
  auto by_name = service.handle(enumerate_with([&](auto& f) { f.add_process_names(exe.filename().string()); }));
  EXPECT_NE(find_pid(by_name, self), nullptr);
  auto by_glob =
      service.handle(enumerate_with([&](auto& f) { f.set_executable_pattern("*/" + exe.filename().string()); }));
  EXPECT_NE(find_pid(by_glob, self), nullptr);
  for (const auto& p : by_glob.processes()) {
    EXPECT_EQ(std::filesystem::path(p.executable_path()).filename(), exe.filename());
  }
}

TEST(CollectorServiceLive, ProcessTreeContainsChildrenAndGrandchildren) {
  // sh is our child; the sleep it starts is our grandchild.
  auto child = child_process::spawn({"/bin/sh", "-c", "/bin/sleep 30 & wait"});
  ASSERT_TRUE(child) << child.error();
  auto service = live_service();
  const auto self = static_cast<std::uint32_t>(::getpid());
  const auto shell = static_cast<std::uint32_t>(child->pid());
  auto tree_task = enumerate_with([&](auto& f) { f.add_pids(self); }, wire::MONITOR_PROCESS_TREE);

  DetectionResult tree;
  const ProcessRecord* grandchild = nullptr;
  for (const auto deadline = std::chrono::steady_clock::now() + 10s;
       grandchild == nullptr && std::chrono::steady_clock::now() < deadline;) {
    tree = service.handle(tree_task);
    ASSERT_TRUE(tree.success()) << tree.error_message();
    for (const auto& p : tree.processes()) {
      // The name changes early in execve, the command line only once the new image's
      // arguments are in place: wait for both.
      if (p.ppid() == shell && p.name() == "sleep" && p.command_line_size() > 0) grandchild = &p;
    }
  }
  ASSERT_NE(grandchild, nullptr) << "sleep never appeared under the shell";
  EXPECT_NE(find_pid(tree, self), nullptr);
  const auto* sh = find_pid(tree, shell);
  ASSERT_NE(sh, nullptr);
  EXPECT_EQ(sh->ppid(), self);
  EXPECT_THAT(std::vector<std::string>(grandchild->command_line().begin(), grandchild->command_line().end()),
              ElementsAre("/bin/sleep", "30"));
  // Nothing outside the subtree: every process's parent is in it, except the root's.
  for (const auto& p : tree.processes()) {
    if (p.pid() != self) {
      EXPECT_NE(find_pid(tree, p.ppid()), nullptr) << p.pid();
    }
  }
}

TEST(CollectorServiceLive, EnumerationHashesTheRunningImageOnce) {
  auto service = live_service({.hash_executables = true});
  const auto self = static_cast<std::uint32_t>(::getpid());
  const auto expected = sha256_file("/proc/self/exe");
  ASSERT_TRUE(expected);
  auto task = enumerate_with([&](auto& f) { f.add_pids(self); });
  auto first = service.handle(task);
  ASSERT_EQ(first.processes_size(), 1);
  EXPECT_EQ(first.processes(0).executable_hash(), *expected);
  EXPECT_EQ(first.processes(0).hash_algorithm(), "sha256");
  const auto after_first = service.hash_computations();
  EXPECT_EQ(after_first, 1U);
  auto second = service.handle(task);
  EXPECT_EQ(second.processes(0).executable_hash(), *expected);
  EXPECT_EQ(service.hash_computations(), after_first);
}

TEST(CollectorServiceLive, DeletedExecutableIsStillHashedFromTheRunningImage) {
  daemoneye::test::temp_dir dir;
  const auto path = (std::filesystem::canonical(dir.path()) / "vanishing").string();
  std::filesystem::copy_file("/bin/sleep", path);
  const auto expected = sha256_file(path);
  ASSERT_TRUE(expected);
  auto child = child_process::spawn({path, "30"});
  if (!child) GTEST_SKIP() << "cannot execute from " << dir.path() << ": " << child.error();
  std::filesystem::remove(path);
  auto service = live_service({.hash_executables = true});
  auto task = enumerate_with([&](auto& f) { f.add_pids(static_cast<std::uint32_t>(child->pid())); });
  DetectionResult r;
  for (const auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    r = service.handle(task);
    if (r.processes_size() == 1 && r.processes(0).name() == "vanishing") break;
  }
  ASSERT_EQ(r.processes_size(), 1);
  EXPECT_TRUE(r.processes(0).on_disk_mismatch());
  EXPECT_FALSE(r.processes(0).file_exists());
  EXPECT_EQ(r.processes(0).executable_hash(), *expected);
}

}  // namespace
}  // namespace daemoneye::procmond
