// Inside train/: how model.cc reaches the architecture families. Each family file (train_dense.cc,
// train_deepseek.cc) reads its config with the inference side's parser (model/dense_decoder.h,
// model/deepseek_decoder.h), lists its parameters and builds its TrainModel.
#pragma once

#include <memory>
#include <string>

#include "train/model.h"

namespace r1::train {

// Where a new model's parameters come from: a folder's weights, or a seeded HF-style random initialisation.
struct ParamSource {
  WeightStore* weights = nullptr;  // null: random
  uint64_t seed = 0;
  double init_std = 0.02;          // config.json initializer_range

  Result<ParamStore> make(std::vector<ParamSpec> specs) const {
    return weights ? ParamStore::load(std::move(specs), *weights)
                   : ParamStore::create(std::move(specs), init_std, seed);
  }
};

// `base` carries the config (text and parsed) and the source folder; the family fills in the rest.
Result<std::unique_ptr<TrainModel>> make_dense_train(TrainModel::Init base, const std::string& model_type,
                                                     const ParamSource& source);
Result<std::unique_ptr<TrainModel>> make_deepseek_train(TrainModel::Init base, const std::string& model_type,
                                                        const ParamSource& source);

}  // namespace r1::train
