#include "train/optim.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"

namespace r1::train {

double LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) return lr * double(step + 1) / double(warmup_steps);
  if (step >= total_steps) return min_lr;
  const double progress = double(step - warmup_steps) / double(std::max<int64_t>(1, total_steps - warmup_steps));
  return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
}

double clip_grad_norm(std::span<float> grads, double max_norm) {
  double sum = 0.0;
  for (float g : grads) sum += double(g) * double(g);
  const double norm = std::sqrt(sum);
  if (max_norm > 0.0) {
    const double coef = max_norm / (norm + 1e-6);  // torch.nn.utils.clip_grad_norm_'s coefficient
    if (coef < 1.0)
      for (float& g : grads) g = float(double(g) * coef);
  }
  return norm;
}

AdamW::AdamW(const ParamStore& params, AdamWConfig config)
    : config_(config), m_(size_t(params.numel()), 0.0f), v_(m_) {
  int64_t offset = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamSpec& s = params.spec(i);
    if (s.trainable) ranges_.push_back({offset, offset + s.numel(), s.shape.size() >= 2});
    offset += s.numel();
  }
}

void AdamW::step(ParamStore& params, double lr) {
  ++step_;
  const double b1 = config_.beta1, b2 = config_.beta2;
  // torch.optim.AdamW (single-tensor path): step_size = lr / (1 - b1^t), denom = sqrt(v) / sqrt(1 - b2^t) + eps.
  const double step_size = lr / (1.0 - std::pow(b1, double(step_))),
               bc2_sqrt = std::sqrt(1.0 - std::pow(b2, double(step_)));
  float* p = params.values().data();
  const float* g = params.grads().data();
  float* m = m_.data();
  float* v = v_.data();
  for (const Range& r : ranges_) {
    const float decay = r.decay ? float(1.0 - lr * config_.weight_decay) : 1.0f;
    // Every element on its own: chunks over the pool give the same bits as one loop.
    ThreadPool::global().parallel_for(r.end - r.begin, 1 << 15, [&](int64_t i0, int64_t i1) {
      for (int64_t i = r.begin + i0; i < r.begin + i1; ++i) {
        p[i] *= decay;
        m[i] += float(1.0 - b1) * (g[i] - m[i]);  // torch: exp_avg.lerp_(grad, 1 - beta1)
        v[i] = float(b2) * v[i] + float(1.0 - b2) * g[i] * g[i];
        const float denom = float(std::sqrt(double(v[i])) / bc2_sqrt + config_.eps);
        p[i] -= float(step_size) * (m[i] / denom);
      }
    });
  }
}

Status AdamW::save(const std::string& path) const {
  const int64_t n = int64_t(m_.size());
  const SafetensorsEntry entries[] = {
      {.name = "adamw.m", .dtype = DType::kF32, .shape = {n}, .data = m_.data()},
      {.name = "adamw.v", .dtype = DType::kF32, .shape = {n}, .data = v_.data()},
      {.name = "adamw.step", .dtype = DType::kI64, .shape = {1}, .data = &step_}};
  return write_safetensors(path, entries);
}

Status AdamW::load(const std::string& path) {
  R1_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::open(path));
  const auto& t = f.tensors();
  const auto m = t.find("adamw.m"), v = t.find("adamw.v"), step = t.find("adamw.step");
  if (m == t.end() || v == t.end() || step == t.end())
    return Status::errorf("{}: not an AdamW state (adamw.m, adamw.v, adamw.step)", path);
  for (const auto* e : {&m->second, &v->second})
    if (e->dtype != DType::kF32 || e->rank != 1 || e->dim(0) != int64_t(m_.size()))
      return Status::errorf("{}: AdamW state of another model (want F32 [{}], have {} {})", path, m_.size(),
                            dtype_name(e->dtype), e->shape_string());
  if (step->second.dtype != DType::kI64 || step->second.numel() != 1 || step->second.as<int64_t>()[0] < 0)
    return Status::errorf("{}: adamw.step must be one non-negative I64", path);
  std::copy_n(m->second.as<float>(), m_.size(), m_.begin());
  std::copy_n(v->second.as<float>(), v_.size(), v_.begin());
  step_ = step->second.as<int64_t>()[0];
  return Status::ok();
}

}  // namespace r1::train
