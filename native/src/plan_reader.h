#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "graph.h"

namespace netdef {

constexpr char kPlanMagic[8] = {'N', 'E', 'T', 'D', 'E', 'F', 'P', 'L'};
// The plan's binary layout (magic, layout, format string, header, graph, checksum); what the graph's parameters mean
// is versioned by the format string (schema::kPlanFormat, derived from the plan schema and netdef's version).
constexpr uint32_t kPlanLayoutVersion = 3;

// FNV-1a, 64-bit: the plan's checksum over every byte before it.
uint64_t fnv1a64(const uint8_t* data, size_t size);

// Parses and validates a plan: magic, layout and format, checksum, each op's parameters against its kind's schema, then every count, index and length against the bytes
// that remain. Throws PlanError naming the byte offset and what was being read; never reads out of bounds.
Graph readPlan(const uint8_t* data, size_t size);

}  // namespace netdef
