// Throughput of textune's BERT against the same computation written as a plain LibTorch module
// (no textune code), in one run: forward (eval, no gradient) and forward+backward (train mode,
// cross-entropy loss) in tokens/s for a bert-base-sized BertForSequenceClassification (random
// weights, bert-base-uncased's config, 2 labels) at batch 32 and lengths 16, 64 and 128, and a
// sweep of the CPU thread settings (LibTorch's intra-op pool against OpenBLAS's own pool).
//
// usage: bench_models [--lengths 16,64,128] [--batch 32] [--reps N] [--sweep-length 64] [--no-sweep]
// Prints one table per thread setting and the ratio textune / plain (1.0 = no overhead).
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "textune/models/model.h"

// OpenBLAS (Debian's libblas.so.3 alternative) runs its own thread pool; weak so the bench still
// links and runs against another BLAS.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads() __attribute__((weak));

namespace {

using textune::core::Json;

// ---------------------------------------------------------------- the plain LibTorch peer

struct PlainLayerImpl : torch::nn::Module {
  PlainLayerImpl(int64_t h, int64_t heads, int64_t inter, double p) : heads(heads), p(p) {
    q = register_module("q", torch::nn::Linear(h, h));
    k = register_module("k", torch::nn::Linear(h, h));
    v = register_module("v", torch::nn::Linear(h, h));
    o = register_module("o", torch::nn::Linear(h, h));
    ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(1e-12)));
    fc1 = register_module("fc1", torch::nn::Linear(h, inter));
    fc2 = register_module("fc2", torch::nn::Linear(inter, h));
    ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(1e-12)));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) {
    const int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = H / heads;
    auto split = [&](const torch::Tensor& t) { return t.view({B, T, heads, D}).transpose(1, 2); };
    auto qh = split(q(x)), kh = split(k(x)), vh = split(v(x));
    const double train_p = is_training() ? p : 0.0;
#if TORCH_VERSION_MAJOR >= 2
    auto ctx = at::scaled_dot_product_attention(qh, kh, vh, mask, train_p, false);
#else
    auto scores = torch::matmul(qh, kh.transpose(-1, -2)) / std::sqrt(double(D)) + mask;
    auto probs = torch::dropout(torch::softmax(scores, -1), train_p, is_training());
    auto ctx = torch::matmul(probs, vh);
#endif
    auto a = ln1(torch::dropout(o(ctx.transpose(1, 2).reshape({B, T, H})), train_p, is_training()) + x);
    return ln2(torch::dropout(fc2(torch::gelu(fc1(a))), train_p, is_training()) + a);
  }
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  int64_t heads;
  double p;
};
TORCH_MODULE(PlainLayer);

/// bert-base as one would write it by hand: embeddings, 12 post-norm layers, pooler, classifier.
struct PlainBertImpl : torch::nn::Module {
  PlainBertImpl(int64_t vocab, int64_t h, int64_t layers, int64_t heads, int64_t inter, int64_t positions,
                int64_t labels, double p)
      : p(p) {
    word = register_module("word", torch::nn::Embedding(vocab, h));
    pos = register_module("pos", torch::nn::Embedding(positions, h));
    type = register_module("type", torch::nn::Embedding(2, h));
    ln = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(1e-12)));
    for (int64_t i = 0; i < layers; ++i) blocks.push_back(register_module("l" + std::to_string(i), PlainLayer(h, heads, inter, p)));
    pooler = register_module("pooler", torch::nn::Linear(h, h));
    classifier = register_module("classifier", torch::nn::Linear(h, labels));
  }
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& types, const torch::Tensor& attention_mask) {
    const int64_t T = ids.size(1);
    auto x = word(ids) + type(types) + pos(torch::arange(T, ids.options()).unsqueeze(0));
    x = torch::dropout(ln(x), p, is_training());
    auto mask = (1.0 - attention_mask.to(torch::kFloat32)).mul(-3.4028234663852886e38).view({ids.size(0), 1, 1, T});
    for (auto& b : blocks) x = b(x, mask);
    auto pooled = torch::tanh(pooler(x.select(1, 0)));
    return classifier(torch::dropout(pooled, p, is_training()));
  }
  torch::nn::Embedding word{nullptr}, pos{nullptr}, type{nullptr};
  torch::nn::LayerNorm ln{nullptr};
  std::vector<PlainLayer> blocks;
  torch::nn::Linear pooler{nullptr}, classifier{nullptr};
  double p;
};
TORCH_MODULE(PlainBert);

// ---------------------------------------------------------------- measurement

Json bert_base_config() {
  return Json::parse(R"({
    "architectures": ["BertForSequenceClassification"], "model_type": "bert",
    "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072, "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
    "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": 30522})");
}

struct Batch {
  torch::Tensor ids, types, mask, labels;
};

Batch make_batch(int64_t B, int64_t T) {
  torch::manual_seed(0);
  Batch b;
  b.ids = torch::randint(1000, 30000, {B, T}, torch::kLong);
  b.types = torch::zeros({B, T}, torch::kLong);
  b.mask = torch::ones({B, T}, torch::kLong);
  b.labels = torch::randint(0, 2, {B}, torch::kLong);
  return b;
}

/// Seconds per call of `f`, the median of `reps` after one warm-up call.
template <typename F>
double seconds_per_call(F&& f, int reps) {
  f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Row {
  int64_t T;
  double tx_fwd, plain_fwd, tx_train, plain_train;  // tokens/s
};

Row measure(textune::models::PreTrainedModel& model, PlainBert& plain, int64_t B, int64_t T, int reps) {
  const Batch b = make_batch(B, T);
  const double tokens = double(B * T);
  textune::models::ModelInputs in;
  in.input_ids = b.ids;
  in.token_type_ids = b.types;
  in.attention_mask = b.mask;
  Row r{T, 0, 0, 0, 0};
  {
    torch::NoGradGuard g;
    model->eval();
    plain->eval();
    r.tx_fwd = tokens / seconds_per_call([&] { model->forward(in); }, reps);
    r.plain_fwd = tokens / seconds_per_call([&] { plain->forward(b.ids, b.types, b.mask); }, reps);
  }
  in.labels = b.labels;
  model->train();
  plain->train();
  r.tx_train = tokens / seconds_per_call(
                            [&] {
                              model->zero_grad();
                              model->forward(in).loss.backward();
                            },
                            reps);
  r.plain_train = tokens / seconds_per_call(
                               [&] {
                                 plain->zero_grad();
                                 torch::nn::functional::cross_entropy(plain->forward(b.ids, b.types, b.mask), b.labels)
                                     .backward();
                               },
                               reps);
  return r;
}

void print_rows(const std::vector<Row>& rows) {
  std::cout << fmt::format("{:>6} {:>14} {:>14} {:>7} {:>14} {:>14} {:>7}\n", "length", "textune fwd", "plain fwd",
                           "ratio", "textune f+b", "plain f+b", "ratio");
  for (const auto& r : rows)
    std::cout << fmt::format("{:>6} {:>14.0f} {:>14.0f} {:>7.3f} {:>14.0f} {:>14.0f} {:>7.3f}\n", r.T, r.tx_fwd,
                             r.plain_fwd, r.tx_fwd / r.plain_fwd, r.tx_train, r.plain_train,
                             r.tx_train / r.plain_train);
  std::cout << "(tokens/s; ratio = textune / plain LibTorch, higher is better for textune)\n" << std::flush;
}

void set_threads(int intra, int blas) {
  at::set_num_threads(intra);
  if (openblas_set_num_threads) openblas_set_num_threads(blas);
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    out.push_back(std::stoll(s.substr(pos, comma - pos)));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> lengths = {16, 64, 128};
  int64_t batch = 32, sweep_length = 64;
  int reps = 2;
  bool sweep = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--lengths") lengths = parse_list(next());
    else if (a == "--batch") batch = std::stoll(next());
    else if (a == "--reps") reps = std::stoi(next());
    else if (a == "--sweep-length") sweep_length = std::stoll(next());
    else if (a == "--no-sweep") sweep = false;
    else {
      std::cerr << "usage: bench_models [--lengths 16,64,128] [--batch 32] [--reps N] [--sweep-length 64] [--no-sweep]\n";
      return 2;
    }
  }
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int start_intra = at::get_num_threads();
  const int start_blas = openblas_get_num_threads ? openblas_get_num_threads() : -1;
  std::cout << fmt::format("LibTorch {}, {} cores; at start: intra-op threads {}, OpenBLAS threads {}\n",
                           TORCH_VERSION, cores, start_intra, start_blas);

  // textune's model (from_config, which also applies textune's thread defaults) and the peer
  auto model = textune::models::from_config(bert_base_config());
  const int tx_intra = at::get_num_threads();
  const int tx_blas = openblas_get_num_threads ? openblas_get_num_threads() : -1;
  PlainBert plain(30522, 768, 12, 12, 3072, 512, 2, 0.1);
  std::cout << fmt::format("textune defaults: intra-op threads {}, OpenBLAS threads {}\n", tx_intra, tx_blas);

  if (sweep) {
    std::cout << fmt::format("\n== thread settings, batch {}, length {} ==\n", batch, sweep_length);
    std::cout << fmt::format("{:>6} {:>6} {:>14} {:>14} {:>14} {:>14}\n", "intra", "blas", "textune fwd", "plain fwd",
                             "textune f+b", "plain f+b");
    std::vector<std::pair<int, int>> settings = {{1, cores}, {cores, cores}, {cores, 1}, {1, 1}};
    for (auto [intra, blas] : settings) {
      set_threads(intra, blas);
      const Row r = measure(model, plain, batch, sweep_length, reps);
      std::cout << fmt::format("{:>6} {:>6} {:>14.0f} {:>14.0f} {:>14.0f} {:>14.0f}\n", intra, blas, r.tx_fwd,
                               r.plain_fwd, r.tx_train, r.plain_train)
                << std::flush;
    }
  }

  std::cout << fmt::format("\n== textune's default threads (intra-op {}, OpenBLAS {}), batch {} ==\n", tx_intra,
                           tx_blas, batch);
  set_threads(tx_intra, tx_blas > 0 ? tx_blas : cores);
  std::vector<Row> rows;
  for (int64_t T : lengths) rows.push_back(measure(model, plain, batch, T, reps));
  print_rows(rows);
  return 0;
}
