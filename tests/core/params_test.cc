#include "core/params.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/registry.h"
#include "tests/test_util.h"

namespace linklab::core {
namespace {

std::vector<ParamSpec> Schema() {
  return {IntParam("steps", 100, "steps", 1, 1000), DoubleParam("lr", 3e-4, "rate", 0.0, 1.0),
          BoolParam("flag", false, "a flag"), StringParam("mode", "a", "mode", {"a", "b"}),
          StringParam("free", "", "free text")};
}

using linklab::testing::ErrorOf;

TEST(Params, DefaultsFilledIn) {
  const Params p = Params::Resolve(Schema(), {}, "[agent]");
  EXPECT_EQ(p.Int("steps"), 100);
  EXPECT_DOUBLE_EQ(p.Double("lr"), 3e-4);
  EXPECT_FALSE(p.Bool("flag"));
  EXPECT_EQ(p.String("mode"), "a");
  EXPECT_EQ(p.Text("lr"), "0.0003");
}

TEST(Params, GivenValuesParsed) {
  const Params p = Params::Resolve(Schema(),
                                   {{"steps", {"1e3", "x.ini:3"}},
                                    {"lr", {" 0.5 ", "x.ini:4"}},
                                    {"flag", {"yes", "x"}},
                                    {"mode", {"b", "x"}}},
                                   "[agent]");
  EXPECT_EQ(p.Int("steps"), 1000);
  EXPECT_DOUBLE_EQ(p.Double("lr"), 0.5);
  EXPECT_TRUE(p.Bool("flag"));
  EXPECT_EQ(p.String("mode"), "b");
}

TEST(Params, ErrorsNameOriginKeyAndValue) {
  EXPECT_EQ(ErrorOf([] {
              Params::Resolve(Schema(), {{"lr", {"abc", "x.ini:7"}}}, "[agent]");
            }),
            "x.ini:7: [agent] lr = 'abc': not a number");
  EXPECT_EQ(ErrorOf([] {
              Params::Resolve(Schema(), {{"steps", {"0", "x.ini:2"}}}, "[agent]");
            }),
            "x.ini:2: [agent] steps = '0': out of range [1, 1000]");
  EXPECT_EQ(ErrorOf([] {
              Params::Resolve(Schema(), {{"steps", {"2.5", "x.ini:2"}}}, "[a]");
            }),
            "x.ini:2: [a] steps = '2.5': not an integer");
  EXPECT_EQ(ErrorOf([] {
              Params::Resolve(Schema(), {{"flag", {"maybe", "x.ini:9"}}}, "[a]");
            }),
            "x.ini:9: [a] flag = 'maybe': not a boolean (true/false)");
  EXPECT_EQ(ErrorOf([] {
              Params::Resolve(Schema(), {{"mode", {"c", "x.ini:1"}}}, "[a]");
            }),
            "x.ini:1: [a] mode = 'c': must be one of a, b");
  const std::string unknown = ErrorOf([] {
    Params::Resolve(Schema(), {{"lrate", {"0.1", "x.ini:5"}}}, "[agent]");
  });
  EXPECT_EQ(unknown,
            "x.ini:5: [agent] unknown key 'lrate' (value '0.1'); known keys: steps, lr, flag, "
            "mode, free");
}

TEST(Params, NanAndInfinityAreRejectedOrRangeChecked) {
  EXPECT_NE(ErrorOf([] { Params::Resolve(Schema(), {{"lr", {"nan", "x"}}}, "[a]"); }), "");
  EXPECT_NE(ErrorOf([] { Params::Resolve(Schema(), {{"lr", {"inf", "x"}}}, "[a]"); }), "");
}

TEST(Params, WrongTypeReadIsALogicError) {
  const Params p = Params::Resolve(Schema(), {}, "[a]");
  EXPECT_THROW(p.Double("steps"), std::logic_error);
  EXPECT_THROW(p.Int("nope"), std::logic_error);
}

TEST(Registry, UnknownNameListsKnownNames) {
  Registry<int> r("widget");
  r.Add({"beta", "b", {}, 2});
  r.Add({"alpha", "a", {}, 1});
  EXPECT_EQ(r.Names(), (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(r.Find("beta").make, 2);
  EXPECT_EQ(ErrorOf([&] { r.Find("gamma"); }), "unknown widget 'gamma'; known: alpha, beta");
  EXPECT_THROW(r.Add({"alpha", "again", {}, 3}), std::logic_error);
}

}  // namespace
}  // namespace linklab::core
