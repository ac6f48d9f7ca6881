#include "io/hf_config.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace r1 {
namespace {

TEST(HfConfig, TypedAccessors) {
  auto c = HfConfig::parse(R"({"a": 3, "b": 1e6, "c": "x", "d": true, "e": null, "f": [1, 2], "g": {"h": 2.5}})", "t");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(*c->get_int("a"), 3);
  EXPECT_EQ(*c->get_int("b"), 1000000);  // integral floats are accepted as integers (rope_theta: 1e6)
  EXPECT_EQ(*c->get_double("a"), 3.0);
  EXPECT_EQ(*c->get_string("c"), "x");
  EXPECT_EQ(*c->get_bool("d", false), true);
  EXPECT_EQ(*c->get_int("e", 7), 7);  // null means default
  EXPECT_FALSE(c->has("e"));
  EXPECT_EQ(*c->get_int_list("f"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(*c->get_int_list("a"), (std::vector<int64_t>{3}));
  auto g = c->get_object("g");
  ASSERT_TRUE(g.is_ok() && g->has_value());
  EXPECT_EQ(*(*g)->get_double("h"), 2.5);
  auto missing = c->get_int("zz");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.message(), "t: missing required field \"zz\"");
  auto wrong = c->get_int("c");
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_EQ(wrong.message(), "t: field \"c\" must be an integer");
  EXPECT_FALSE(c->get_int("g", 1).is_ok());
  EXPECT_FALSE(c->get_bool("a", false).is_ok());
}

TEST(HfConfig, MalformedJson) {
  EXPECT_FALSE(HfConfig::parse("{", "x").is_ok());
  EXPECT_FALSE(HfConfig::parse("[]", "x").is_ok());
  EXPECT_FALSE(HfConfig::load("/nonexistent/config.json").is_ok());
}

TEST(GenerationConfig, ReadsR1DistillDefaults) {
  test::TempDir dir;
  test::write_file(dir.file("generation_config.json"),
                   R"({"bos_token_id": 151646, "eos_token_id": 151643, "do_sample": true, "temperature": 0.6,)"
                   R"( "top_p": 0.95})");
  auto g = GenerationConfig::load_dir(dir.path());
  ASSERT_TRUE(g.is_ok()) << g.message();
  EXPECT_FLOAT_EQ(*g->temperature, 0.6f);
  EXPECT_FLOAT_EQ(*g->top_p, 0.95f);
  EXPECT_EQ(g->eos_token_ids, std::vector<int32_t>{151643});
  EXPECT_EQ(*g->bos_token_id, 151646);
  test::TempDir empty;
  auto none = GenerationConfig::load_dir(empty.path());
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->temperature.has_value());
  test::write_file(dir.file("generation_config.json"), R"({"temperature": "hot"})");
  EXPECT_FALSE(GenerationConfig::load_dir(dir.path()).is_ok());
}

}  // namespace
}  // namespace r1
