#include "networks/connectivity_rules.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "networks/finite_values.h"
#include "networks/hdf5_dataset.h"
#include "networks/network_file.h"

namespace snnsim {
namespace {

constexpr NeuronIndex kRowsPerBlock = 1024;

/// Synapses of a block of consecutive generated rows.
struct RowBlock {
  std::vector<NeuronIndex> partners;   ///< targets (or sources, for fixed_indegree)
  std::vector<std::uint32_t> lengths;  ///< per row
  std::vector<float> weights;          ///< per synapse, unless the weight is constant
  std::vector<std::uint16_t> delays;   ///< per synapse, unless the delay is constant
};

bool is_constant(const ValueSpec& spec) {
  return spec.kind == ValueSpec::Kind::constant;
}

std::uint16_t delay_steps(double delay_ms, double dt_ms) {
  const double steps = std::round(delay_ms / dt_ms);
  return static_cast<std::uint16_t>(std::clamp(steps, 1.0, 65535.0));
}

class RowGenerator {
 public:
  RowGenerator(const ProjectionSpec& projection, const SynapseBuildContext& context)
      : c_(projection.connectivity),
        weight_(projection.weight),
        delay_(projection.delay),
        context_(context),
        connect_(RandomStream::make(context.seed, "connect:" + projection.name)),
        weight_stream_(RandomStream::make(context.seed, "weight:" + projection.name)),
        delay_stream_(RandomStream::make(context.seed, "delay:" + projection.name)),
        first_target_(context.partition.first(context.target_size)),
        end_target_(context.partition.end(context.target_size)) {}

  bool target_centred() const { return c_.rule == ConnectionRule::fixed_indegree; }
  /// The rows to generate: [first_row(), end_row()).
  NeuronIndex first_row() const { return target_centred() ? first_target_ : 0; }
  NeuronIndex end_row() const { return target_centred() ? end_target_ : context_.source_size; }
  /// The targets held here, [first_target(), first_target() + local_targets()).
  NeuronIndex first_target() const { return first_target_; }
  NeuronIndex local_targets() const { return end_target_ - first_target_; }
  NeuronIndex partners() const {
    return target_centred() ? context_.source_size : context_.target_size;
  }

  /// Rows [first, last), or fewer when a stop is requested (the caller then throws).
  void generate(NeuronIndex first, NeuronIndex last, RowBlock& block) const {
    for (NeuronIndex row = first; row < last; ++row) {
      if (context_.stop != nullptr && context_.stop->load(std::memory_order_relaxed)) return;
      const std::size_t begin = block.partners.size();
      append_partners(row, block.partners);
      RandomSequence weight_draws(weight_stream_, row), delay_draws(delay_stream_, row);
      for (std::size_t k = begin; k < block.partners.size(); ++k) {
        if (!is_constant(weight_))
          block.weights.push_back(static_cast<float>(draw_value(weight_, weight_draws)));
        if (!is_constant(delay_)) {
          block.delays.push_back(delay_steps(draw_value(delay_, delay_draws), context_.dt_ms));
        }
      }
      if (!target_centred() && local_targets() < context_.target_size) {
        keep_local_targets(begin, block);
      }
      block.lengths.push_back(static_cast<std::uint32_t>(block.partners.size() - begin));
    }
  }

 private:
  bool excluded(NeuronIndex row, NeuronIndex partner) const {
    return !c_.allow_autapses && context_.same_population && row == partner;
  }

  /// Drops the synapses of the row from `begin` whose targets are not held here (after their
  /// weights and delays were drawn, so the others' draws are those of the whole network), and
  /// makes the others' targets local.
  void keep_local_targets(std::size_t begin, RowBlock& block) const {
    const bool weights = !is_constant(weight_), delays = !is_constant(delay_);
    std::size_t kept = begin;
    for (std::size_t k = begin; k < block.partners.size(); ++k) {
      const NeuronIndex target = block.partners[k];
      if (target < first_target_ || target >= end_target_) continue;
      block.partners[kept] = target - first_target_;
      if (weights) block.weights[kept] = block.weights[k];
      if (delays) block.delays[kept] = block.delays[k];
      ++kept;
    }
    block.partners.resize(kept);
    if (weights) block.weights.resize(kept);
    if (delays) block.delays.resize(kept);
  }

  void append_partners(NeuronIndex row, std::vector<NeuronIndex>& out) const {
    const NeuronIndex n = partners();
    RandomSequence draws(connect_, row);
    switch (c_.rule) {
      case ConnectionRule::all_to_all:
        for (NeuronIndex j = 0; j < n; ++j) {
          if (!excluded(row, j)) out.push_back(j);
        }
        break;
      case ConnectionRule::one_to_one:
        out.push_back(row);
        break;
      case ConnectionRule::fixed_probability: {
        if (c_.probability <= 0) break;
        // Geometric skipping: the gap to the next connected neuron is geometric, so the cost is
        // proportional to the synapses made, not to the neurons tested.
        const double log_q = std::log1p(-std::min(c_.probability, 1.0 - 1e-16));
        std::uint64_t j = 0;
        while (true) {
          j += c_.probability >= 1
                   ? 0
                   : static_cast<std::uint64_t>(std::log(draws.uniform_open()) / log_q);
          if (j >= n) break;
          if (!excluded(row, static_cast<NeuronIndex>(j)))
            out.push_back(static_cast<NeuronIndex>(j));
          ++j;
        }
        break;
      }
      case ConnectionRule::fixed_indegree:
      case ConnectionRule::fixed_outdegree: {
        const std::size_t begin = out.size();
        std::unordered_set<NeuronIndex> chosen;
        const std::uint64_t available = n - (excluded(row, row) && row < n ? 1 : 0);
        if (available == 0) break;
        const std::uint64_t degree =
            c_.allow_multapses ? c_.degree : std::min(c_.degree, available);
        while (out.size() - begin < degree) {
          const NeuronIndex j = draws.below(n);
          if (excluded(row, j)) continue;
          if (!c_.allow_multapses && !chosen.insert(j).second) continue;
          out.push_back(j);
        }
        // Outgoing rows are kept sorted by target; incoming rows need not be, since the
        // transposition to outgoing rows walks targets in order.
        if (c_.rule == ConnectionRule::fixed_outdegree) {
          std::sort(out.begin() + static_cast<std::ptrdiff_t>(begin), out.end());
        }
        break;
      }
      case ConnectionRule::explicit_list:
      case ConnectionRule::file:
        break;  // not row-generated
    }
  }

  const ConnectivitySpec& c_;
  const ValueSpec& weight_;
  const ValueSpec& delay_;
  const SynapseBuildContext& context_;
  RandomStream connect_, weight_stream_, delay_stream_;
  NeuronIndex first_target_, end_target_;
};

Connectivity build_generated(const ProjectionSpec& projection, const SynapseBuildContext& context) {
  const RowGenerator generator(projection, context);
  const NeuronIndex first_row = generator.first_row(), end_row = generator.end_row();
  std::vector<RowBlock> blocks((end_row - first_row + kRowsPerBlock - 1) / kRowsPerBlock);
#pragma omp parallel for schedule(dynamic)
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const NeuronIndex first = first_row + static_cast<NeuronIndex>(b * kRowsPerBlock);
    generator.generate(first, std::min<NeuronIndex>(first + kRowsPerBlock, end_row), blocks[b]);
  }
  if (context.stop != nullptr && context.stop->load()) throw BuildInterrupted();

  Connectivity c;
  c.source_size = context.source_size;
  c.target_size = generator.local_targets();
  if (is_constant(projection.weight)) c.weight = static_cast<float>(projection.weight.value);
  if (is_constant(projection.delay)) c.delay = delay_steps(projection.delay.value, context.dt_ms);
  const bool weights = !is_constant(projection.weight), delays = !is_constant(projection.delay);
  std::uint64_t total = 0;
  for (const RowBlock& block : blocks)
    total += block.partners.size();
  c.targets.resize(total);
  if (weights) c.weights.resize(total);
  if (delays) c.delays.resize(total);
  c.row_offsets.assign(static_cast<std::size_t>(context.source_size) + 1, 0);

  if (!generator.target_centred()) {
    std::uint64_t at = 0;
    NeuronIndex row = 0;
    for (RowBlock& block : blocks) {
      std::copy(block.partners.begin(), block.partners.end(), c.targets.begin() + at);
      if (weights) std::copy(block.weights.begin(), block.weights.end(), c.weights.begin() + at);
      if (delays) std::copy(block.delays.begin(), block.delays.end(), c.delays.begin() + at);
      for (std::uint32_t length : block.lengths)
        c.row_offsets[++row] = (at += length);
      block = RowBlock{};  // release memory as we go
    }
    return c;
  }
  // Target-centred rows: transpose by a counting sort over sources. Walking targets in ascending
  // order keeps each source's row sorted by target. Rows are the local targets in order.
  for (const RowBlock& block : blocks) {
    for (NeuronIndex source : block.partners)
      ++c.row_offsets[source + 1];
  }
  std::partial_sum(c.row_offsets.begin(), c.row_offsets.end(), c.row_offsets.begin());
  std::vector<std::uint64_t> fill(c.row_offsets.begin(), c.row_offsets.end() - 1);
  NeuronIndex target = 0;  // local
  for (const RowBlock& block : blocks) {
    std::size_t k = 0;
    for (std::uint32_t length : block.lengths) {
      for (std::uint32_t i = 0; i < length; ++i, ++k) {
        const std::uint64_t at = fill[block.partners[k]]++;
        c.targets[at] = target;
        if (weights) c.weights[at] = block.weights[k];
        if (delays) c.delays[at] = block.delays[k];
      }
      ++target;
    }
  }
  return c;
}

Connectivity build_listed(const ProjectionSpec& projection, const SynapseBuildContext& context) {
  const ConnectivitySpec& spec = projection.connectivity;
  SynapseList list;
  if (spec.rule == ConnectionRule::explicit_list) {
    list.sources = spec.sources;
    list.targets = spec.targets;
  } else {
    const std::filesystem::path file = context.base_directory / spec.file;
    for (auto [dataset, size, out] :
         {std::tuple{&spec.sources_dataset, context.source_size, &list.sources},
          std::tuple{&spec.targets_dataset, context.target_size, &list.targets}}) {
      std::vector<double> values;
      try {
        values = read_hdf5_vector(file, *dataset);
      } catch (const std::runtime_error& error) {
        throw NetworkFileError(projection.where + "/connectivity: " + error.what());
      }
      for (double v : values) {
        if (v < 0 || v >= size || v != std::floor(v)) {
          throw NetworkFileError(projection.where + "/connectivity: " + file.string() +
                                 ": dataset '" + *dataset + "' holds " + std::to_string(v) +
                                 ", not a neuron index below " + std::to_string(size));
        }
        out->push_back(static_cast<NeuronIndex>(v));
      }
    }
    if (list.sources.size() != list.targets.size()) {
      throw NetworkFileError(projection.where + "/connectivity: " + file.string() +
                             ": the sources and targets datasets differ in length (" +
                             std::to_string(list.sources.size()) + " and " +
                             std::to_string(list.targets.size()) + ")");
    }
  }
  const std::size_t n = list.sources.size();
  RandomSequence weight_draws(RandomStream::make(context.seed, "weight:" + projection.name), 0);
  RandomSequence delay_draws(RandomStream::make(context.seed, "delay:" + projection.name), 0);
  auto per_synapse = [&](const ValueSpec& spec, RandomSequence& draws) {
    if (spec.kind == ValueSpec::Kind::list || spec.kind == ValueSpec::Kind::file) {
      return read_listed_values(spec, n, context.base_directory);
    }
    std::vector<double> values(n);
    for (double& v : values)
      v = draw_value(spec, draws);
    return values;
  };
  for (double w : per_synapse(projection.weight, weight_draws))
    list.weights.push_back(static_cast<float>(w));
  for (double d : per_synapse(projection.delay, delay_draws))
    list.delays.push_back(delay_steps(d, context.dt_ms));
  const NeuronIndex first_target = context.partition.first(context.target_size);
  const NeuronIndex end_target = context.partition.end(context.target_size);
  if (end_target - first_target < context.target_size) {
    // Keep the synapses onto the targets held here, after every value was read or drawn.
    std::size_t kept = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (list.targets[k] < first_target || list.targets[k] >= end_target) continue;
      list.sources[kept] = list.sources[k];
      list.targets[kept] = list.targets[k] - first_target;
      list.weights[kept] = list.weights[k];
      list.delays[kept] = list.delays[k];
      ++kept;
    }
    for (auto* values : {&list.sources, &list.targets})
      values->resize(kept);
    list.weights.resize(kept);
    list.delays.resize(kept);
  }
  Connectivity c =
      connectivity_from_list(std::move(list), context.source_size, end_target - first_target);
  c.compact_homogeneous();
  return c;
}

}  // namespace

double draw_value(const ValueSpec& spec, RandomSequence& draws) {
  switch (spec.kind) {
    case ValueSpec::Kind::uniform:
      return spec.low + (spec.high - spec.low) * draws.uniform_open();
    case ValueSpec::Kind::normal:
      return spec.mean + spec.std * draws.normal();
    default:
      return spec.value;
  }
}

std::vector<double> read_listed_values(const ValueSpec& spec, std::size_t count,
                                       const std::filesystem::path& base_directory) {
  std::vector<double> values = spec.values;
  if (spec.kind == ValueSpec::Kind::file) {
    try {
      values = read_hdf5_vector(base_directory / spec.file, spec.dataset);
    } catch (const std::runtime_error& error) {
      throw NetworkFileError(spec.where + ": " + error.what());
    }
    for (double& v : values)
      v *= spec.file_factor;
    if (const std::string problem = non_finite_problem(values); !problem.empty()) {
      throw NetworkFileError(spec.where + ": " + spec.file + ": dataset '" + spec.dataset +
                             "': " + problem);
    }
  }
  if (values.size() != count) {
    throw NetworkFileError(spec.where + ": expected " + std::to_string(count) + " values; found " +
                           std::to_string(values.size()));
  }
  return values;
}

Connectivity build_synapses(const ProjectionSpec& projection, const SynapseBuildContext& context) {
  const ConnectionRule rule = projection.connectivity.rule;
  if (rule == ConnectionRule::explicit_list || rule == ConnectionRule::file) {
    return build_listed(projection, context);
  }
  return build_generated(projection, context);
}

}  // namespace snnsim
