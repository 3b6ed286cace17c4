// core/log.hpp: BILLmanager-style log lines in $MGR5_ROOT/var/<program>.log.
//
// The logger keeps process-wide state (the program name, the sink, the open
// file), as a CGI program or the module does for its one run. Each test
// therefore logs from a forked child, which starts from this process's
// untouched state; the parent never logs and only reads the files.
#include "robokassa/method_settings.hpp"
#include "unit_support.hpp"
#include "util/log.hpp"
#include "util/paths.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <regex>
#include <sys/stat.h>

using rk::test::run_in_child;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) {
            ADD_FAILURE() << "the last line has no newline";
            end = text.size();
        }
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return lines;
}

std::regex line_pattern(pid_t pid, const std::string& level, const std::string& message) {
    return std::regex("^[A-Z][a-z]{2} \\d{2} \\d{2}:\\d{2}:\\d{2} \\[" + std::to_string(pid) +
                      "\\] unittest " + level + " " + message + "$");
}

class Log : public rk::test::Mgr5RootTest {
protected:
    std::string log_file() const { return m_root / "var/unittest.log"; }
    std::vector<std::string> log_lines() const { return lines_of(rk::test::read_file(log_file())); }
};

} // namespace

TEST_F(Log, WritesBillmanagerLineFormat) {
    pid_t pid = 0;
    ASSERT_EQ(run_in_child(
                  [] {
                      rk::log::init("unittest", 6);
                      rk::log::info("message");
                      rk::log::error("second message");
                      return 0;
                  },
                  &pid),
              0);
    const auto lines = log_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(std::regex_match(lines[0], line_pattern(pid, "INFO", "message"))) << lines[0];
    EXPECT_TRUE(std::regex_match(lines[1], line_pattern(pid, "ERROR", "second message")))
        << lines[1];
}

TEST_F(Log, CreatesVarAndTheFileWithPrivateModes) {
    ASSERT_FALSE(rk::test::exists(m_root / "var"));
    ASSERT_EQ(run_in_child([] {
                  ::umask(022);
                  rk::log::init("unittest", 6);
                  rk::log::warning("hello");
                  return 0;
              }),
              0);
    struct stat st {};
    ASSERT_EQ(::stat((m_root / "var").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    ASSERT_EQ(::stat(log_file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(Log, AppendsToAnExistingFile) {
    ::mkdir((m_root / "var").c_str(), 0750);
    rk::test::write_file(log_file(), "earlier line\n");
    ASSERT_EQ(run_in_child([] {
                  rk::log::init("unittest", 6);
                  rk::log::info("later line");
                  return 0;
              }),
              0);
    const auto lines = log_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "earlier line");
    EXPECT_NE(lines[1].find("INFO later line"), std::string::npos);
}

TEST_F(Log, LevelFiltersRecords) {
    ASSERT_EQ(run_in_child([] {
                  rk::log::init("unittest", 2);
                  rk::log::error("kept error");
                  rk::log::warning("kept warning");
                  rk::log::info("dropped info");
                  rk::log::debug("dropped debug");
                  return 0;
              }),
              0);
    const auto lines = log_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find(" ERROR kept error"), std::string::npos);
    EXPECT_NE(lines[1].find(" WARNING kept warning"), std::string::npos);
}

TEST_F(Log, NothingBelowTheLevelCreatesNoFile) {
    ASSERT_EQ(run_in_child([] {
                  rk::log::init("unittest", 2);
                  rk::log::info("dropped");
                  return 0;
              }),
              0);
    EXPECT_FALSE(rk::test::exists(log_file()));
}

TEST_F(Log, SetLevelChangesTheThreshold) {
    ASSERT_EQ(run_in_child([] {
                  rk::log::init("unittest", 6);
                  rk::log::debug("dropped at 6");
                  rk::log::set_level(9);
                  rk::log::debug("kept at 9");
                  rk::log::write(rk::log::Level::trace, "trace at 9");
                  rk::log::set_level(1);
                  rk::log::warning("dropped at 1");
                  return 0;
              }),
              0);
    const auto lines = log_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find(" DEBUG kept at 9"), std::string::npos);
    EXPECT_NE(lines[1].find(" TRACE trace at 9"), std::string::npos);
}

TEST_F(Log, EscapesControlCharactersSoOneRecordIsOneLine) {
    ASSERT_EQ(run_in_child([] {
                  rk::log::init("unittest", 6);
                  std::string message =
                      "InvId=1\nNov 23 06:11:42 [1] rkresult INFO forged\r\x1b[31m\x7f\t";
                  message += '\0';
                  message += "end Иван";
                  rk::log::info(message);
                  return 0;
              }),
              0);
    const std::string text = rk::test::read_file(log_file());
    const auto lines = lines_of(text);
    ASSERT_EQ(lines.size(), 1u) << text;
    const std::string& line = lines[0];
    EXPECT_NE(line.find("InvId=1\\x0aNov 23 06:11:42 [1] rkresult INFO forged\\x0d\\x1b[31m\\x7f"
                        "\\x09\\x00end Иван"),
              std::string::npos)
        << line;
    EXPECT_EQ(text.find('\r'), std::string::npos);
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST_F(Log, FallsBackToStderrWhenTheFileCannotBeWritten) {
    // MGR5_ROOT names a regular file, so var/ cannot be created under it.
    rk::test::write_file(m_root / "not-a-dir", "");
    rk::test::ScopedEnv root("MGR5_ROOT", m_root / "not-a-dir");
    const std::string captured = m_root / "stderr.txt";
    ASSERT_EQ(run_in_child([&] {
                  int fd = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
                  if (fd < 0 || ::dup2(fd, 2) < 0) {
                      return 1;
                  }
                  rk::log::init("unittest", 6);
                  rk::log::error("to stderr"); // must not throw or crash
                  return 0;
              }),
              0);
    EXPECT_NE(rk::test::read_file(captured).find("unittest ERROR to stderr\n"), std::string::npos);
}

// docs/interface.md §2: no password is logged, at any level. The errors that reach
// the log are those of the validation functions; log them the way the
// module does (pmvalidate's refusal and main's catch-all) and grep.
TEST_F(Log, NeverWritesPasswordsFromValidationErrors) {
    // One password per rule it may break, so every message is exercised.
    const std::vector<std::string> secrets = {
        "Zq7SecretOne",    "Zq7SecretTwo",  "Zq7SecretThree",
        "Zq7s1",           "Zq7 Secret 4",  "Zq7Пароль5",
        "ZqSecretNoDigit", "7770777077707", "Zq7" + std::string(130, 'L')};
    ASSERT_EQ(
        run_in_child([&] {
            rk::log::init("unittest", 9);
            auto refuse = [](const rk::MethodFields& fields) {
                try {
                    rk::parse_method_settings(fields);
                } catch (const rk::Error& e) {
                    rk::log::info(std::string("pmvalidate refused ") + e.describe());
                    rk::log::error(std::string("method.add: ") + e.describe());
                    rk::log::debug(e.what());
                }
            };
            const std::string& one = secrets[0];
            const std::string& two = secrets[1];
            refuse({{"shop_id", "demo"}, {"password1", one}, {"password2", secrets[3]}});
            refuse({{"shop_id", "demo"}, {"password1", secrets[3]}, {"password2", two}});
            refuse({{"shop_id", "demo"}, {"password1", one}, {"password2", one}});
            refuse(
                {{"shop_id", "demo"}, {"password1", one}, {"password2", two}, {"password3", one}});
            refuse({{"shop_id", "demo"},
                    {"password1", one},
                    {"password2", two},
                    {"password3", secrets[2] + "\n"}});
            refuse({{"shop_id", "demo"}, {"password1", secrets[4]}, {"password2", two}});
            refuse({{"shop_id", "demo"}, {"password1", secrets[5]}, {"password2", two}});
            refuse({{"shop_id", "demo"}, {"password1", secrets[6]}, {"password2", two}});
            refuse({{"shop_id", "demo"}, {"password1", one}, {"password2", secrets[7]}});
            refuse({{"shop_id", "demo"}, {"password1", secrets[8]}, {"password2", two}});
            refuse({{"shop_id", "bad shop"}, {"password1", one}, {"password2", two}});
            refuse({{"shop_id", "demo"},
                    {"password1", one},
                    {"password2", two},
                    {"hash_algorithm", "crc32"},
                    {"test_mode", "maybe"}});
            try {
                rk::validate_password("password3", secrets[3]);
            } catch (const rk::Error& e) {
                rk::log::error(e.describe());
            }
            return 0;
        }),
        0);
    const std::string text = rk::test::read_file(log_file());
    // The refusals were logged, naming their fields...
    EXPECT_EQ(lines_of(text).size(), 12u * 3u + 1u);
    for (const char* field : {"password1", "password2", "password3", "shop_id", "hash_algorithm"}) {
        EXPECT_NE(text.find(field), std::string::npos) << field;
    }
    // ...and no password, nor any recognisable piece of one.
    for (const std::string& secret : secrets) {
        EXPECT_EQ(text.find(secret), std::string::npos) << secret;
    }
    EXPECT_EQ(text.find("Zq"), std::string::npos) << text;
    EXPECT_EQ(text.find("77707"), std::string::npos) << text;
}

TEST_F(Log, RotatesAFileAtTheSizeLimit) {
    ::mkdir((m_root / "var").c_str(), 0750);
    {
        int fd = ::open(log_file().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::ftruncate(fd, rk::log::k_rotate_bytes), 0); // sparse: fast, takes no space
        ::close(fd);
    }
    ASSERT_EQ(run_in_child([] {
                  rk::log::init("unittest", 6);
                  rk::log::info("after rotation");
                  return 0;
              }),
              0);
    struct stat st {};
    ASSERT_EQ(::stat((log_file() + ".1").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, rk::log::k_rotate_bytes);
    ASSERT_EQ(::stat(log_file().c_str(), &st), 0);
    EXPECT_LT(st.st_size, 200);
    const auto lines = log_lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("INFO after rotation"), std::string::npos);
}

TEST_F(Log, DoesNotRotateBelowTheSizeLimit) {
    ::mkdir((m_root / "var").c_str(), 0750);
    {
        int fd = ::open(log_file().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::ftruncate(fd, rk::log::k_rotate_bytes - 1), 0);
        ::close(fd);
    }
    ASSERT_EQ(run_in_child([] {
                  rk::log::init("unittest", 6);
                  rk::log::info("appended");
                  return 0;
              }),
              0);
    EXPECT_FALSE(rk::test::exists(log_file() + ".1"));
    struct stat st {};
    ASSERT_EQ(::stat(log_file().c_str(), &st), 0);
    EXPECT_GT(st.st_size, rk::log::k_rotate_bytes);
}
