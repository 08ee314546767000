// `textune serve --model DIR [--host 127.0.0.1] [--port 8080]`: serve a fine-tuned classifier over
// HTTP with text-embeddings-inference's request shapes (see include/textune/serve/server.h).
#include <cmath>

#include "command.h"
#include "model_options.h"
#include "textune/core/checkpoint.h"
#include "textune/core/json.h"
#include "textune/pipeline.h"
#include "textune/serve/server.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::cli {
namespace {

struct ServeCliOptions {
  ModelOption model;
  std::string device = "cpu";
  serve::ServerOptions server;
};

int run_serve(ServeCliOptions o) {
  const std::string dir = resolve_model_option(o.model);
  PipelineOptions po;
  po.device = o.device;
  po.batch_size = o.server.max_batch_requests;  // one forward pass per server batch
  po.truncate = true;                           // the server refuses over-long inputs itself, per request
  std::shared_ptr<const Pipeline> pipeline = Pipeline::load(dir, po);
  auto tokenizer = tokenizers::Tokenizer::from_dir(dir);
  o.server.model_id = o.model.model;  // as given: a directory or a Hub id
  const core::Json config = core::read_model_config(dir);
  for (const char* key : {"torch_dtype", "dtype"})
    if (config.contains(key) && config[key].is_string()) o.server.model_dtype = config[key].get<std::string>();
  serve::Server server(pipeline, tokenizer, o.server);
  serve::serve_until_signal(server);
  return 0;
}

const CommandRegistrar kRegistrar(
    "serve",
    "Serve a fine-tuned model (classifier, ner, qa) over HTTP (text-embeddings-inference's /predict, /tokenize, "
    "/info, ...)",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<ServeCliOptions>();
      auto& s = o->server;
      add_model_options(app, o->model, true, "Fine-tuned classifier");
      app.add_option("--host,--hostname", s.host, "Address to listen on (loopback by default)")->capture_default_str();
      app.add_option("--port", s.port, "TCP port (0: any free port; the URL is logged)")
          ->capture_default_str()
          ->check(CLI::Range(0, 65535));
      app.add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
      app.add_option("--max-concurrent-requests", s.max_concurrent_requests,
                     "Requests served at once; more are answered 503")
          ->capture_default_str();
      app.add_option("--max-batch-tokens", s.max_batch_tokens, "Tokens in one model batch")->capture_default_str();
      app.add_option("--max-batch-requests", s.max_batch_requests, "Sequences in one model batch (1: no batching)")
          ->capture_default_str();
      app.add_option("--max-wait-ms", s.max_wait_ms, "How long a queued sequence waits for others to batch with")
          ->capture_default_str();
      app.add_option("--max-client-batch-size", s.max_client_batch_size, "Sequences one request may carry")
          ->capture_default_str();
      app.add_option("--max-request-bytes,--payload-limit", s.max_request_bytes, "Largest request body (413 above)")
          ->capture_default_str();
      app.add_flag("--auto-truncate", s.auto_truncate, "Truncate over-long inputs unless a request says otherwise");
      app.add_option("--workers", s.num_workers, "Threads running model batches")->capture_default_str();
      app.add_option("--max-connections", s.max_connections,
                     "Requests served at once (a thread each; connections waiting for a request hold none)")
          ->capture_default_str();
      app.add_option("--read-timeout", s.read_timeout_s, "Seconds a client may stall mid-request")
          ->capture_default_str();
      app.add_option("--request-head-timeout", s.request_head_timeout_s,
                     "Seconds a client has to send a request's head (408 after)")
          ->capture_default_str();
      app.add_option("--request-timeout", s.request_timeout_s,
                     "Seconds a client has to send a whole request, body included (408 after)")
          ->capture_default_str();
      app.add_option("--max-head-bytes", s.max_head_bytes, "Largest request head (431 above)")->capture_default_str();
      app.add_option("--keep-alive-timeout", s.keep_alive_timeout_s, "Seconds an idle keep-alive connection stays open")
          ->capture_default_str();
      return [o] { return run_serve(*o); };
    },
    40);

}  // namespace
}  // namespace textune::cli
