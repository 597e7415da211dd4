// Specs: "name(key=value,...)" with nested specs and [list] values.

#include <gtest/gtest.h>

#include "core/registry.h"
#include "core/text.h"
#include "tests/test_util.h"

namespace linklab::core {
namespace {

using linklab::testing::ErrorOf;

TEST(Spec, ParsesNameAndValues) {
  const Spec s = Spec::Parse("shaping(link=tethered, trace = ATT-LTE-driving.down)", "env spec");
  EXPECT_EQ(s.name(), "shaping");
  EXPECT_EQ(s.Keys(), (std::vector<std::string>{"link", "trace"}));
  EXPECT_EQ(s.Get("link"), "tethered");
  EXPECT_EQ(s.Get("trace"), "ATT-LTE-driving.down");
  EXPECT_EQ(Spec::Parse("CartPole-v1", "env spec").name(), "CartPole-v1");
  EXPECT_TRUE(Spec::Parse("CartPole-v1()", "env spec").Keys().empty());
  EXPECT_TRUE(Spec::Parse(" CartPole-v1( ) ", "env spec").Keys().empty());
  const RawValues values = s.Values();
  EXPECT_EQ(values.at("trace").text, "ATT-LTE-driving.down");
  EXPECT_EQ(values.at("trace").origin,
            "env spec 'shaping(link=tethered, trace = ATT-LTE-driving.down)'");
}

TEST(Spec, NestedSpecIsOneValue) {
  const Spec s =
      Spec::Parse("shaping(scenario=tethered(rtt_ms=80,backend=fluid),step_s=0.1)", "env spec");
  EXPECT_EQ(s.Keys(), (std::vector<std::string>{"scenario", "step_s"}));
  EXPECT_EQ(s.Get("scenario"), "tethered(rtt_ms=80,backend=fluid)");
  EXPECT_EQ(s.Get("step_s"), "0.1");
  const Spec inner = Spec::Parse(s.Get("scenario"), "scenario spec");
  EXPECT_EQ(inner.name(), "tethered");
  EXPECT_EQ(inner.Get("backend"), "fluid");
  // Two levels deep.
  const Spec deep = Spec::Parse("a(b=c(d=e(f=1,g=2),h=3),i=4)", "spec");
  EXPECT_EQ(deep.Get("b"), "c(d=e(f=1,g=2),h=3)");
  EXPECT_EQ(deep.Get("i"), "4");
}

TEST(Spec, ListValuesReadAsCommaLists) {
  const Spec s = Spec::Parse("tethered(workload=[bulk, video*2 ,gaming],rtt_ms=80)", "spec");
  EXPECT_EQ(s.Get("workload"), "bulk,video*2,gaming");
  EXPECT_EQ(s.Get("rtt_ms"), "80");
  EXPECT_EQ(s.Text(), "tethered(workload=[bulk,video*2,gaming],rtt_ms=80)");
  // A single-item list and an empty list.
  EXPECT_EQ(Spec::Parse("t(w=[bulk])", "spec").Get("w"), "bulk");
  EXPECT_EQ(Spec::Parse("t(w=[])", "spec").Get("w"), "");
  // A list inside a nested spec stays whole in the outer value.
  const Spec outer = Spec::Parse("shaping(scenario=tethered(workload=[bulk,web]),step_s=1)", "s");
  EXPECT_EQ(outer.Get("scenario"), "tethered(workload=[bulk,web])");
  EXPECT_EQ(Spec::Parse(outer.Get("scenario"), "s").Get("workload"), "bulk,web");
}

TEST(Spec, ListValueItemsAreTrimmedAndEmptyOnesKept) {
  using V = std::vector<std::string>;
  EXPECT_EQ(core::ParseListValue("[a, b]"), (V{"a", "b"}));
  EXPECT_EQ(core::ParseListValue(" a,b "), (V{"a", "b"}));
  EXPECT_EQ(core::ParseListValue("[a,,b]"), (V{"a", "", "b"}));
  EXPECT_TRUE(core::ParseListValue("").empty());
  EXPECT_TRUE(core::ParseListValue("[ ]").empty());
}

TEST(Spec, UnbalancedBracketsNameTheColumn) {
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(b=1", "env spec"); }),
            "env spec 'a(b=1': '(' at column 2 is never closed");
  EXPECT_EQ(ErrorOf([] {
              Spec::Parse("shaping(scenario=tethered(rtt_ms=80,backend=fluid,step_s=0.1)",
                          "env spec");
            }),
            "env spec 'shaping(scenario=tethered(rtt_ms=80,backend=fluid,step_s=0.1)': '(' at "
            "column 8 is never closed");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(b=1))", "spec"); }),
            "spec 'a(b=1))': stray ')' at column 7");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(w=[bulk,video)]", "spec"); }),
            "spec 'a(w=[bulk,video)]': ')' at column 16 does not close '[' at column 5");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(b=1)c", "spec"); }),
            "spec 'a(b=1)c': unexpected text after ')' at column 6");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("tethered)", "spec"); }),
            "spec 'tethered)': stray ')' at column 9");
}

TEST(Spec, MalformedItemsAreErrors) {
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(b)", "spec"); }),
            "spec 'a(b)': column 3: 'b' is not key=value");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(b=1,b=2)", "spec"); }),
            "spec 'a(b=1,b=2)': key 'b' given twice (again at column 7)");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("(b=1)", "spec"); }), "spec '(b=1)': empty name");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(=1)", "spec"); }), "spec 'a(=1)': column 3: empty key");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(b=1,,c=2)", "spec"); }),
            "spec 'a(b=1,,c=2)': empty item at column 7");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a(x(y=1))", "spec"); }),
            "spec 'a(x(y=1))': column 3: 'x(y=1)' is not key=value");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("", "spec"); }), "spec '': empty name");
  EXPECT_EQ(ErrorOf([] { Spec::Parse("a b", "spec"); }),
            "spec 'a b': name 'a b' may not contain ' '");
  // Control bytes are shown escaped.
  EXPECT_EQ(ErrorOf([] { Spec::Parse(std::string("a(\x01") + "=1", "spec"); }),
            "spec 'a(\\x01=1': '(' at column 2 is never closed");
}

TEST(Spec, TextRoundTripsCanonically) {
  for (const char* text :
       {"CartPole-v1", "a(b=1)", " a ( b = 1 , c = x ) ", "a(b=)",
        "shaping(scenario=tethered(rtt_ms=80,backend=fluid),step_s=0.1)",
        "tethered(workload=[bulk, video*2,gaming])", "a(b=[[x]])", "a(b=[x]y)", "a(b=c=d)",
        "s(scenario=tethered(workload=[bulk,web],trace=/tmp/x.down),n=[1,[2,3]])"}) {
    const Spec once = Spec::Parse(text, "spec");
    const Spec twice = Spec::Parse(once.Text(), "spec");
    EXPECT_EQ(once, twice) << text << " -> " << once.Text();
    EXPECT_EQ(twice.Text(), once.Text()) << text;
  }
  EXPECT_EQ(Spec::Parse(" a ( b = 1 , c = x ) ", "spec").Text(), "a(b=1,c=x)");
  EXPECT_EQ(Spec::Parse("a()", "spec").Text(), "a");
}

TEST(Spec, SetReplacesOrAppends) {
  Spec s = Spec::Parse("tethered(capacity=markov,workload=bulk)", "scenario spec");
  s.Set("workload", "bulk,video").Set("backend", "fluid");
  EXPECT_EQ(s.Keys(), (std::vector<std::string>{"capacity", "workload", "backend"}));
  EXPECT_EQ(s.Get("workload"), "bulk,video");
  EXPECT_EQ(s.Text(), "tethered(capacity=markov,workload=[bulk,video],backend=fluid)");
  s.Set("capacity", "trace");
  EXPECT_EQ(s.Text(), "tethered(capacity=trace,workload=[bulk,video],backend=fluid)");
  // A value written as in a spec: brackets mark a list, a nested spec stays whole.
  s.Set("workload", "[gaming, web]");
  EXPECT_EQ(s.Get("workload"), "gaming,web");
  Spec built("shaping", "env spec");
  built.Set("scenario", s.Text()).Set("step_s", "0.1");
  EXPECT_EQ(built.Text(),
            "shaping(scenario=tethered(capacity=trace,workload=[gaming,web],backend=fluid),"
            "step_s=0.1)");
  EXPECT_EQ(Spec::Parse(built.Text(), "env spec"), built);
  EXPECT_EQ(built.Values().at("step_s").origin, "env spec '" + built.Text() + "'");
  EXPECT_FALSE(s.Has("nope"));
  EXPECT_EQ(ErrorOf([&] { s.Get("nope"); }),
            "scenario spec 'tethered(capacity=trace,workload=[gaming,web],backend=fluid)': no "
            "key 'nope'");
  EXPECT_THROW(s.Set("bad", "x(1"), std::invalid_argument);
  EXPECT_THROW(s.Set("", "1"), std::invalid_argument);
  EXPECT_THROW(s.Set("a=b", "1"), std::invalid_argument);
}

}  // namespace
}  // namespace linklab::core
