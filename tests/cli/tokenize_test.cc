// `r1 tokenize` as a user runs it: JSON string lines in, id lines out (and back with --decode), for a
// tokenizer folder, a model folder and a GGUF file; bad lines are errors naming the line, exit code 1.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Outcome {
  int status;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs r1 with `input` on stdin (through a file, so any bytes pass unchanged).
Outcome r1(const std::string& args, const std::string& input) {
  static int counter = 0;
  const std::string base = std::filesystem::temp_directory_path().string() + "/r1_tokenize_test_" +
                           std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::ofstream(base + ".in", std::ios::binary) << input;
  const std::string cmd =
      std::string(R1_BINARY) + " " + args + " < " + base + ".in > " + base + ".out 2> " + base + ".err";
  const int status = std::system(cmd.c_str());
  Outcome o{WEXITSTATUS(status), slurp(base + ".out"), slurp(base + ".err")};
  for (const char* ext : {".in", ".out", ".err"}) std::filesystem::remove(base + ext);
  return o;
}

const std::string kTok = std::string(R1_FIXTURES_DIR) + "/tokenizers/";

TEST(CliTokenize, EncodesJsonLinesWithATokenizerFolder) {
  // DeepSeek-V3: "Hello!" -> 19923 3, and the special token in the second line is matched whole.
  const Outcome r = r1("tokenize -m " + kTok + "deepseek-v3", "\"Hello!\"\n\"<｜User｜>hi\\n\"\n\"\"\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "19923 3");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
  EXPECT_NE(r.out.find("\n128803 "), std::string::npos) << r.out;  // <｜User｜>
  EXPECT_TRUE(r.out.ends_with("\n\n")) << r.out;                   // "" -> an empty line
}

// A small SentencePiece vocabulary (BOS 1, added by default) keeps the many runs below fast.
const std::string kSmall = kTok + "stories260k/stories260k-vocab.gguf";

TEST(CliTokenize, AddSpecialAddsBos) {
  const Outcome plain = r1("tokenize -m " + kSmall, "\"Hello!\"\n");
  const Outcome with = r1("tokenize -m " + kSmall + " --add-special", "\"Hello!\"\n");
  ASSERT_EQ(with.status, 0) << with.err;
  EXPECT_EQ(with.out, "1 " + plain.out);
}

TEST(CliTokenize, GgufFileAndDecodeRoundTrip) {
  const std::string gguf = kTok + "vectors/ggml-vocab-deepseek-llm.gguf";
  const std::string text = "\"Hello world! 12345\\n\\tdéjà vu 你好 <｜begin▁of▁sentence｜>\"\n";
  const Outcome enc = r1("tokenize -m " + gguf, text);
  ASSERT_EQ(enc.status, 0) << enc.err;
  const Outcome dec = r1("tokenize --decode -m " + gguf, enc.out);
  ASSERT_EQ(dec.status, 0) << dec.err;
  EXPECT_EQ(dec.out, text);
}

TEST(CliTokenize, ModelFolderAndCrlfInput) {
  // The bundled default model's folder (no -m); \r\n line ends are accepted.
  const Outcome r = r1("tokenize", "\"Once upon a time\"\r\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  const Outcome d = r1("tokenize --decode", r.out);
  EXPECT_EQ(d.out, "\"Once upon a time\"\n");
}

TEST(CliTokenize, BadLinesNameTheLineAndExitWithOne) {
  const std::string m = "tokenize -m " + kSmall;
  Outcome r = r1(m, "\"ok\"\nnot json\n\"never reached\"\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: line 2: not a JSON string"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;  // the lines before the bad one
  r = r1(m, "42\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("line 1: not a JSON string"), std::string::npos) << r.err;
  r = r1(m, "\"unterminated\n");
  EXPECT_EQ(r.status, 1);
  r = r1(m, "\"\xff\"\n");  // invalid UTF-8 inside JSON
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;

  r = r1(m + " --decode", "1 2\n3 999999999\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: line 2: token id 999999999 is outside the vocabulary (0..511)"),
            std::string::npos)
      << r.err;
  r = r1(m + " --decode", "1 x2\n");
  EXPECT_NE(r.err.find("line 1: \"x2\" is not a token id"), std::string::npos) << r.err;
  r = r1(m + " --decode", "-1\n");
  EXPECT_NE(r.err.find("token id -1 is outside"), std::string::npos) << r.err;
  r = r1(m + " --decode", "123456789012345678901234567890\n");
  EXPECT_EQ(r.status, 1);
  r = r1(m + " --decode", "\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "\"\"\n");
}

TEST(CliTokenize, MissingTokenizerIsAnError) {
  const Outcome r = r1("tokenize -m /nonexistent/tok.gguf", "\"x\"\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: /nonexistent/tok.gguf"), std::string::npos) << r.err;
}

}  // namespace
