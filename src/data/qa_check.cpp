// The question checker of the question-answering readers (qa_internal.h): ids, questions, contexts,
// answers against their context in Unicode code points. See data/qa.h.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "data/internal.h"
#include "data/qa_internal.h"
#include "textune/core/error.h"
#include "textune/core/utf8.h"

namespace textune::data::qa_internal {

std::string show(std::string_view s) {
  std::string v = internal::sanitize_utf8(s.substr(0, std::min<size_t>(s.size(), 200)));
  if (v.size() > 60) {
    size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;  // whole code points
    v = v.substr(0, cut) + "...";
  }
  return "\"" + v + "\"";
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos;
}

std::string type_of(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "a list";
  return "an object";
}

void Checker::row_problem(const std::string& message) {
  ++rows_;
  ++invalid_;
  add(message);
}

void Checker::question(const Fields& f) {
  ++rows_;
  QaExample ex;
  ex.line = f.line;
  ex.where = f.where;
  invalid_question_ = false;
  // ---- the id, first: every message names it
  if (f.id && f.id->is_string() && f.id->get_ref<const std::string&>().size() <= kMaxFieldBytes) {
    ex.id = f.id->get<std::string>();
  } else if (f.id && f.id->is_number_integer()) {
    ex.id = internal::json_scalar_to_string(*f.id);
  } else if (!f.id && !f.default_id.empty()) {
    ex.id = f.default_id;
  }
  prefix_ = ex.id.empty() && (f.id || f.default_id.empty()) ? fmt::format("question ({})", f.where)
                                                            : fmt::format("question {} ({})", show(ex.id), f.where);
  if (!f.id && f.default_id.empty()) {
    bad("missing \"id\"");
  } else if (f.id && !(f.id->is_string() || f.id->is_number_integer())) {
    bad(fmt::format("\"id\" is {}, expected a string", type_of(*f.id)));
  } else if (f.id && f.id->is_string() && f.id->get_ref<const std::string&>().size() > kMaxFieldBytes) {
    bad(fmt::format("an id of {} bytes (at most {})", f.id->get_ref<const std::string&>().size(), kMaxFieldBytes));
  } else if (!internal::is_valid_utf8(ex.id)) {
    bad(fmt::format("the id is not valid UTF-8 (byte {})", internal::first_invalid_utf8(ex.id) + 1));
  } else if (ex.id.empty()) {
    bad("an empty id");
  }
  // Inputs in memory are answered by position, and a server batches many clients' inputs (each
  // numbered from 1 when it has no id): their ids need not be unique.
  if (!ex.id.empty() && mode_ != Mode::kInputs) {
    auto [it, inserted] = ids_.emplace(ex.id, f.where);
    if (!inserted) bad(fmt::format("duplicate id (first at {}; ids must be unique)", it->second));
  }
  if (f.title && f.title->is_string() && f.title->get_ref<const std::string&>().size() <= kMaxFieldBytes &&
      internal::is_valid_utf8(f.title->get_ref<const std::string&>()))
    ex.title = f.title->get<std::string>();

  // ---- question and context
  if (mode_ != Mode::kReferences) {
    if (text_field(f.question, "question", ex.question) && blank(ex.question))
      bad(ex.question.empty() ? "an empty question" : "an empty question (only whitespace)");
    if (text_field(f.context, "context", ex.context) && blank(ex.context))
      bad(ex.context.empty() ? "an empty context" : "an empty context (only whitespace)");
  }

  // ---- answers
  bool labelled = false;
  if (mode_ != Mode::kInputs) {
    labelled = answers(f, ex);
    if (f.is_impossible && !f.is_impossible->is_null()) {
      if (!f.is_impossible->is_boolean()) {
        bad(fmt::format("\"is_impossible\" is {}, expected true or false", type_of(*f.is_impossible)));
      } else if (f.is_impossible->get<bool>()) {
        if (!ex.answers.empty())
          bad(
              fmt::format("\"is_impossible\" is true but the question has {} answer{} (an unanswerable "
                          "question has an empty list of answers)",
                          ex.answers.size(), ex.answers.size() == 1 ? "" : "s"));
        ex.is_impossible = true;
        labelled = true;
      }
    }
    if (labelled && ex.answers.empty()) ex.is_impossible = true;
  }
  if (invalid_question_) {
    ++invalid_;
    return;
  }
  all_labelled_ = all_labelled_ && labelled;
  ds_.has_impossible = ds_.has_impossible || ex.is_impossible;
  ds_.examples.push_back(std::move(ex));
}

void Checker::add(const std::string& message) {
  ++num_problems_;
  if (problems_.size() < options_.max_problems) problems_.push_back(Problem{ds_.source, 0, "", message});
}

bool Checker::text_field(const Json* v, const char* name, std::string& out) {
  if (!v || v->is_null()) {
    bad(fmt::format("missing \"{}\"", name));
    return false;
  }
  if (!v->is_string()) {
    bad(fmt::format("\"{}\" is {}, expected a string", name, type_of(*v)));
    return false;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > kMaxFieldBytes) {
    bad(fmt::format("a {} of {} bytes (at most {})", name, s.size(), kMaxFieldBytes));
    return false;
  }
  if (auto b = internal::first_invalid_utf8(s); b != std::string::npos) {
    bad(fmt::format("the {} is not valid UTF-8 (byte {}; save the file as UTF-8 or pass --encoding)", name, b + 1));
    return false;
  }
  out = s;
  return true;
}

/// An answer_start as an integer: a JSON integer, or the digits of a table cell.
std::optional<int64_t> Checker::start_of(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return std::nullopt;
  std::string s = v.get<std::string>();
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  if (a == std::string::npos) return std::nullopt;
  s = s.substr(a, b - a + 1);
  const size_t digits = s[0] == '-' ? 1 : 0;
  if (s.size() == digits || s.size() > 18 ||
      !std::all_of(s.begin() + static_cast<std::ptrdiff_t>(digits), s.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  return std::stoll(s);
}

bool Checker::answers(const Fields& f, QaExample& ex) {
  std::vector<std::pair<const Json*, const Json*>> raw;  // (text, answer_start)
  Json parsed;
  if (f.answer_columns && !(f.answers && !f.answers->is_null())) {
    const bool no_text = !f.answer_text || f.answer_text->is_null() ||
                         (f.answer_text->is_string() && f.answer_text->get_ref<const std::string&>().empty());
    const bool no_start = !f.answer_start || f.answer_start->is_null() ||
                          (f.answer_start->is_string() && blank(f.answer_start->get_ref<const std::string&>()));
    if (no_text && no_start) return true;  // unanswerable
    if (no_text) {
      bad("an answer_start but no answer_text (leave both empty for an unanswerable question)");
      return true;
    }
    raw.emplace_back(f.answer_text, no_start ? nullptr : f.answer_start);
  } else {
    const Json* a = f.answers;
    if ((!a || a->is_null()) && mode_ == Mode::kRead && !options_.require_labels) return false;  // unlabelled
    if (!a || a->is_null()) {
      bad("missing \"answers\" (expected a list of {\"text\", \"answer_start\"}, or {\"text\": [...], "
          "\"answer_start\": [...]})");
      return false;
    }
    if (a->is_string() && f.answers_as_text) {  // a CSV/TSV/xlsx cell holding JSON
      try {
        parsed = core::parse_json(a->get<std::string>(), "answers");
      } catch (const DataError& e) {
        std::string m = e.what();
        if (m.rfind("answers:", 0) == 0) m = m.substr(8);
        bad("\"answers\" is not valid JSON (" + internal::sanitize_utf8(m) + ")");
        return true;
      }
      a = &parsed;
    }
    if (a->is_array()) {
      for (size_t i = 0; i < a->size(); ++i) {
        const Json& e = (*a)[i];
        if (!e.is_object()) {
          bad(fmt::format("answer {} is {}, expected an object {{\"text\", \"answer_start\"}}", i + 1, type_of(e)));
          return true;
        }
        auto t = e.find("text");
        auto s = e.find("answer_start");
        raw.emplace_back(t == e.end() ? nullptr : &*t, s == e.end() ? nullptr : &*s);
      }
    } else if (a->is_object()) {
      auto t = a->find("text");
      auto s = a->find("answer_start");
      if (t == a->end() || !t->is_array()) {
        bad(t == a->end() ? "\"answers\" has no \"text\" list"
                          : fmt::format("\"answers\".\"text\" is {}, expected a list", type_of(*t)));
        return true;
      }
      const bool starts = s != a->end() && !s->is_null();
      if (mode_ != Mode::kReferences && !starts) {
        bad("\"answers\" has no \"answer_start\" list");
        return true;
      }
      if (starts && !s->is_array()) {
        bad(fmt::format("\"answers\".\"answer_start\" is {}, expected a list", type_of(*s)));
        return true;
      }
      if (starts && s->size() != t->size()) {
        bad(fmt::format("\"answers\" has {} text{} but {} answer_start value{} (expected one each)", t->size(),
                        t->size() == 1 ? "" : "s", s->size(), s->size() == 1 ? "" : "s"));
        return true;
      }
      for (size_t i = 0; i < t->size(); ++i) raw.emplace_back(&(*t)[i], starts ? &(*s)[i] : nullptr);
    } else {
      bad(fmt::format("\"answers\" is {}, expected a list of {{\"text\", \"answer_start\"}}", type_of(*a)));
      return true;
    }
  }

  // Code points of the context, once per context (a SQuAD paragraph's questions share it).
  const bool check = mode_ == Mode::kRead && !ex.context.empty();
  if (check && offsets_of_ != ex.context) {
    offsets_ = core::utf8_offsets(ex.context);
    offsets_of_ = ex.context;
  }
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto [t, s] = raw[i];
    QaAnswer ans;
    if (!t || t->is_null()) {
      bad(fmt::format("answer {}: missing \"text\"", i + 1));
      continue;
    }
    if (!t->is_string()) {
      bad(fmt::format("answer {}: the text is {}, expected a string", i + 1, type_of(*t)));
      continue;
    }
    const auto& text = t->get_ref<const std::string&>();
    if (text.size() > kMaxFieldBytes) {
      bad(fmt::format("answer {}: a text of {} bytes (at most {})", i + 1, text.size(), kMaxFieldBytes));
      continue;
    }
    if (auto b = internal::first_invalid_utf8(text); b != std::string::npos) {
      bad(fmt::format("answer {}: the text is not valid UTF-8 (byte {})", i + 1, b + 1));
      continue;
    }
    if (mode_ == Mode::kReferences) {
      if (s && !s->is_null())
        if (auto v = start_of(*s); v && *v >= 0) ans.answer_start = static_cast<size_t>(*v);
      ans.text = text;
      ex.answers.push_back(std::move(ans));
      continue;
    }
    if (text.empty()) {
      bad(fmt::format("answer {}: an empty text (an unanswerable question has an empty list of answers)", i + 1));
      continue;
    }
    if (!s || s->is_null()) {
      bad(fmt::format("answer {} {}: missing \"answer_start\"", i + 1, show(text)));
      continue;
    }
    const auto start = start_of(*s);
    if (!start) {
      bad(fmt::format("answer {} {}: answer_start is {}, expected an integer (a character offset)", i + 1, show(text),
                      s->is_string() ? show(s->get_ref<const std::string&>()) : s->dump()));
      continue;
    }
    ans.text = text;
    if (check) {
      const size_t n = offsets_.size() - 1, len = core::utf8_length(text);
      if (*start < 0 || static_cast<size_t>(*start) + len > n) {
        ++ds_.num_misaligned_answers;
        if (i > 0) {  // scored by its text only; training reads the first answer (run_qa.py)
          secondary_misaligned(ex, i);
          ans.answer_start = *start < 0 ? 0 : static_cast<size_t>(*start);
          ex.answers.push_back(std::move(ans));
          continue;
        }
        bad(fmt::format("answer {} {} starts at {} and has {} characters, outside the context of {} characters", i + 1,
                        show(text), *start, len, n));
        continue;
      }
      const size_t a = static_cast<size_t>(*start);
      const std::string_view there(ex.context.data() + offsets_[a], offsets_[a + len] - offsets_[a]);
      if (there != text) {
        ++ds_.num_misaligned_answers;
        if (i > 0) {
          secondary_misaligned(ex, i);
          ans.answer_start = a;
          ex.answers.push_back(std::move(ans));
          continue;
        }
        bad(
            fmt::format("answer {} {} starts at {} but the context there reads {} (answer_start counts Unicode "
                        "code points, as Python indexes strings)",
                        i + 1, show(text), *start, show(there)));
        continue;
      }
    }
    ans.answer_start = static_cast<size_t>(*start);
    ex.answers.push_back(std::move(ans));
  }
  return true;
}

void Checker::secondary_misaligned(const QaExample& ex, size_t i) {
  if (ds_.num_misaligned_secondary++ == 0)
    ds_.first_misaligned_secondary = fmt::format("{}, answer {}", prefix_, i + 1);
  (void)ex;
}

void Checker::bad(const std::string& message) {
  invalid_question_ = true;
  add(prefix_ + ": " + message);
}

}  // namespace textune::data::qa_internal
