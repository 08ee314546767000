// SQuAD files (data[].paragraphs[].qas[]) read as a stream: the parser's events go straight into the
// questions, one paragraph at a time, so that memory is the file and the examples, whatever the file
// holds (a DOM of a file of small values takes 10 to 25 times the file). See qa_internal.h.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "data/qa_internal.h"
#include "textune/core/error.h"

namespace textune::data::qa_internal {

namespace {

/// A question of a paragraph, kept until the paragraph ends (its context may come after "qas").
struct Pending {
  Json id, question, answers, is_impossible;  // null: missing
  bool has_id = false, has_question = false, has_answers = false, has_impossible = false;
  std::string not_object;  ///< the type of a "qas" entry that is no object ("" when it is one)
  size_t number = 0, q = 0;
};

/// Where the parser is.
enum class Kind {
  kRoot,        // the top-level object
  kData,        // data: [articles]
  kArticle,     // {title, paragraphs}
  kParagraphs,  // paragraphs: [paragraphs]
  kParagraph,   // {context, qas}
  kQas,         // qas: [questions]
  kQuestion,    // {id, question, answers, is_impossible}
  kValue,       // a value kept (a field of a question, the context, the title): built as a small DOM
  kSkip,        // a value not needed: only its nesting is followed
};

class SquadSax {
 public:
  SquadSax(std::string_view text, const std::string& path, Checker& checker, QaDataset& ds)
      : text_(text), path_(path), checker_(checker), ds_(ds) {}

  bool squad() const { return has_data_; }

  // ---- scalars
  bool null() { return scalar(Json(nullptr)); }
  bool boolean(bool v) { return scalar(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return scalar(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return scalar(Json(v)); }
  bool number_float(Json::number_float_t v, const std::string&) { return scalar(Json(v)); }
  bool string(std::string& v) { return scalar(Json(std::move(v))); }
  bool binary(Json::binary_t&) { return scalar(Json()); }

  // ---- containers
  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool key(std::string& k) {
    Frame& f = stack_.back();
    f.key = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < position && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    std::string msg = ex.what();
    if (auto p = msg.find("syntax error"); p != std::string::npos) msg = msg.substr(p);
    if (ex.id == 406) msg = "a number out of range (a JSON number must be a finite double)";
    throw DataError(fmt::format("{}:{}:{}: invalid JSON: {}", path_, line, col, msg));
  }

 private:
  struct Frame {
    Kind kind;
    bool object = false;    // an object (else a list)
    std::string key;        // objects: the key whose value comes next
    Json value;             // kValue: the value being built
    size_t index = 0;       // lists: the next element's index
    bool has_main = false;  // an article's "paragraphs", a paragraph's "qas"
  };

  /// The path of the value that comes next, for messages: data[3].paragraphs[1].qas[0].
  std::string where() const { return fmt::format("data[{}].paragraphs[{}].qas[{}]", article_, paragraph_, q_); }

  [[noreturn]] void wrong(const std::string& what) const { throw DataError(fmt::format("{}: {}", path_, what)); }

  /// What the next value in the current container is, and where it goes.
  Kind next_kind(bool object, bool& keep) {
    keep = false;
    if (stack_.empty()) {
      if (!object) wrong("a JSON list at the top, expected SQuAD's {\"data\": [...]}");
      return Kind::kRoot;
    }
    Frame& f = stack_.back();
    switch (f.kind) {
      case Kind::kRoot:
        if (f.key == "data") {
          has_data_ = true;
          if (object) wrong("\"data\" is an object, expected a list of articles");
          return Kind::kData;
        }
        return Kind::kSkip;
      case Kind::kData:
        article_ = f.index;
        if (!object)
          wrong(fmt::format("data[{}] is a list, expected an article {{\"title\", \"paragraphs\"}}", f.index));
        return Kind::kArticle;
      case Kind::kArticle:
        if (f.key == "paragraphs") {
          f.has_main = true;
          if (object) wrong(fmt::format("data[{}].paragraphs is an object, expected a list", article_));
          return Kind::kParagraphs;
        }
        if (f.key == "title") keep = true;
        return keep ? Kind::kValue : Kind::kSkip;
      case Kind::kParagraphs:
        paragraph_ = f.index;
        if (!object)
          wrong(fmt::format("data[{}].paragraphs[{}] is a list, expected {{\"context\", \"qas\"}}", article_, f.index));
        return Kind::kParagraph;
      case Kind::kParagraph:
        if (f.key == "qas") {
          f.has_main = true;
          if (object)
            wrong(fmt::format("data[{}].paragraphs[{}].qas is an object, expected a list", article_, paragraph_));
          return Kind::kQas;
        }
        if (f.key == "context") keep = true;
        return keep ? Kind::kValue : Kind::kSkip;
      case Kind::kQas:
        q_ = f.index;
        return object ? Kind::kQuestion : Kind::kSkip;
      case Kind::kQuestion:
        keep = f.key == "id" || f.key == "question" || f.key == "answers" || f.key == "is_impossible";
        return keep ? Kind::kValue : Kind::kSkip;
      case Kind::kValue:
        keep = true;
        return Kind::kValue;
      case Kind::kSkip:
        return Kind::kSkip;
    }
    return Kind::kSkip;
  }

  bool open(bool object) {
    if (stack_.size() >= core::JsonLimits{}.max_depth)
      throw DataError(fmt::format("{}: JSON nested deeper than {} levels (the limit for untrusted JSON)", path_,
                                  core::JsonLimits{}.max_depth));
    bool keep = false;
    Kind kind = next_kind(object, keep);
    if (!stack_.empty() && stack_.back().kind == Kind::kQas) {
      // a question entry: {..} a question, anything else said by the checker
      pending_.emplace_back();
      pending_.back().number = ++number_;
      pending_.back().q = q_;
      if (!object) pending_.back().not_object = "a list";
    }
    if (kind == Kind::kValue && !value_wanted(object)) kind = Kind::kSkip;
    Frame f{kind, object, std::string(), Json(), 0, false};
    if (kind == Kind::kValue) f.value = object ? Json::object() : Json::array();
    stack_.push_back(std::move(f));
    return true;
  }

  /// Whether a container that would be kept is: a question's "answers" and, inside it, answer objects
  /// in a list and the lists of an object's "text" and "answer_start". Any other container (a context
  /// that is a list, a list in a list) is kept as its type only: the checker names that.
  bool value_wanted(bool object) const {
    const Frame& f = stack_.back();
    if (f.kind == Kind::kQuestion) return f.key == "answers";
    if (f.kind != Kind::kValue) return false;
    if (f.value.is_object()) return !object && (f.key == "text" || f.key == "answer_start");
    return object;
  }

  bool scalar(Json v) {
    if (stack_.empty()) wrong(type_of(v) + " at the top, expected SQuAD's {\"data\": [...]}");
    Frame& f = stack_.back();
    switch (f.kind) {
      case Kind::kRoot:
        if (f.key == "data") {
          has_data_ = true;
          wrong(fmt::format("\"data\" is {}, expected a list of articles", type_of(v)));
        }
        return true;
      case Kind::kData:
        wrong(fmt::format("data[{}] is {}, expected an article {{\"title\", \"paragraphs\"}}", f.index++, type_of(v)));
      case Kind::kArticle:
        if (f.key == "paragraphs")
          wrong(fmt::format("data[{}].paragraphs is {}, expected a list of {{\"context\", \"qas\"}}", article_,
                            type_of(v)));
        if (f.key == "title") title_ = std::move(v);
        return true;
      case Kind::kParagraphs:
        wrong(fmt::format("data[{}].paragraphs[{}] is {}, expected {{\"context\", \"qas\"}}", article_, f.index++,
                          type_of(v)));
      case Kind::kParagraph:
        if (f.key == "qas")
          wrong(fmt::format("data[{}].paragraphs[{}].qas is {}, expected a list of questions", article_, paragraph_,
                            type_of(v)));
        if (f.key == "context") {
          context_ = std::move(v);
          has_context_ = true;
        }
        return true;
      case Kind::kQas:
        pending_.emplace_back();
        pending_.back().number = ++number_;
        pending_.back().q = f.index++;
        pending_.back().not_object = type_of(v);
        return true;
      case Kind::kQuestion:
        put_field(f.key, std::move(v));
        return true;
      case Kind::kValue:
        if (f.value.is_object()) {
          if (f.key == "text" || f.key == "answer_start") f.value[f.key] = std::move(v);
        } else {
          f.value.push_back(std::move(v));
        }
        return true;
      case Kind::kSkip:
        return true;
    }
    return true;
  }

  void put_field(const std::string& key, Json v) {
    Pending& p = pending_.back();
    if (key == "id") {
      p.id = std::move(v);
      p.has_id = true;
    } else if (key == "question") {
      p.question = std::move(v);
      p.has_question = true;
    } else if (key == "answers") {
      p.answers = std::move(v);
      p.has_answers = true;
    } else if (key == "is_impossible") {
      p.is_impossible = std::move(v);
      p.has_impossible = true;
    }
  }

  bool close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (!stack_.empty()) {
      const Kind parent = stack_.back().kind;
      if (parent == Kind::kData || parent == Kind::kParagraphs || parent == Kind::kQas) ++stack_.back().index;
    }
    switch (f.kind) {
      case Kind::kArticle:
        if (!f.has_main)
          wrong(fmt::format("data[{}] has no \"paragraphs\" (expected a list of {{\"context\", \"qas\"}})", article_));
        // the title may come after the paragraphs
        if (title_.is_string() && title_.get_ref<const std::string&>().size() <= kMaxFieldBytes)
          for (size_t i = article_first_; i < ds_.examples.size(); ++i)
            ds_.examples[i].title = title_.get<std::string>();
        title_ = Json();
        article_first_ = ds_.examples.size();
        break;
      case Kind::kParagraph:
        if (!f.has_main)
          wrong(fmt::format("data[{}].paragraphs[{}] has no \"qas\" (expected a list of questions)", article_,
                            paragraph_));
        flush();
        break;
      case Kind::kValue:
      case Kind::kSkip: {
        if (stack_.empty()) break;
        // a container skipped where a value is kept: its type only
        Json v = f.kind == Kind::kValue ? std::move(f.value) : f.object ? Json::object() : Json::array();
        Frame& parent = stack_.back();
        if (parent.kind == Kind::kValue) {
          if (parent.value.is_object()) {
            if (parent.key == "text" || parent.key == "answer_start") parent.value[parent.key] = std::move(v);
          } else {
            parent.value.push_back(std::move(v));
          }
        } else if (parent.kind == Kind::kQuestion) {
          put_field(parent.key, std::move(v));
        } else if (parent.kind == Kind::kParagraph && parent.key == "context") {
          context_ = std::move(v);
          has_context_ = true;
        }
        break;
      }
      default:
        break;
    }
    return true;
  }

  /// Checks the questions of the paragraph that ended.
  void flush() {
    for (auto& p : pending_) {
      Fields f;
      f.line = p.number;
      f.where = fmt::format("question {}, data[{}].paragraphs[{}].qas[{}]", p.number, article_, paragraph_, p.q);
      if (!p.not_object.empty()) {
        checker_.row_problem(
            fmt::format("{}: {}, expected a question {{\"id\", \"question\", \"answers\"}}", f.where, p.not_object));
        continue;
      }
      f.id = p.has_id ? &p.id : nullptr;
      f.question = p.has_question ? &p.question : nullptr;
      f.context = has_context_ ? &context_ : nullptr;
      f.answers = p.has_answers ? &p.answers : nullptr;
      f.is_impossible = p.has_impossible ? &p.is_impossible : nullptr;
      checker_.question(f);
    }
    pending_.clear();
    context_ = Json();
    has_context_ = false;
  }

  std::string_view text_;
  const std::string& path_;
  Checker& checker_;
  QaDataset& ds_;
  std::vector<Frame> stack_;
  std::vector<Pending> pending_;
  Json context_, title_;
  bool has_context_ = false, has_data_ = false;
  size_t article_ = 0, paragraph_ = 0, q_ = 0, number_ = 0, article_first_ = 0;
};

}  // namespace

SquadRead read_squad_stream(std::string_view text, const std::string& path, Checker& checker, QaDataset& ds) {
  SquadSax sax(text, path, checker, ds);
  try {
    Json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json, /*strict=*/true,
                    /*ignore_comments=*/false);
  } catch (const DataError& e) {
    // A second value after the first: JSON Lines, when the first was no SQuAD file.
    if (!sax.squad() && std::string(e.what()).find("expected end of input") != std::string::npos)
      return SquadRead::kJsonLines;
    throw;
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path + ": invalid JSON: " + e.what());
  }
  return sax.squad() ? SquadRead::kSquad : SquadRead::kNotSquad;
}

}  // namespace textune::data::qa_internal
