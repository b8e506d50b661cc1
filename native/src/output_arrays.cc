#include "output_arrays.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

namespace netdef {

namespace {

// Free blocks by size, up to kKeptBytes in all (beyond that a returned block goes back to the system). One pool for
// the process: finalizers of arrays outliving their engine or context still return their blocks here.
class BlockPool {
 public:
  static constexpr size_t kKeptBytes = size_t{256} << 20;
  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end()) {
        void* block = it->second;
        free_.erase(it);
        kept_ -= bytes;
        return block;
      }
    }
    void* block = std::malloc(bytes == 0 ? 1 : bytes);
    if (!block) throw std::bad_alloc();
    return block;
  }
  void give(void* block, size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (kept_ + bytes > kKeptBytes) return std::free(block);
    free_.emplace(bytes, block);
    kept_ += bytes;
  }

 private:
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  size_t kept_ = 0;
};

BlockPool& pool() {
  static BlockPool* blocks = new BlockPool();  // never destroyed: finalizers may run during the process's exit
  return *blocks;
}

}  // namespace

Napi::ArrayBuffer recycledArrayBuffer(Napi::Env env, size_t bytes, const void* copy) {
  void* block = pool().take(bytes);
  if (bytes) std::memcpy(block, copy, bytes);
  // The garbage collector counts the block as the array's memory, so that it collects dropped outputs (and returns
  // their blocks) as often as it would have collected arrays of its own.
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  return Napi::ArrayBuffer::New(env, block, bytes, [](Napi::Env finalizing, void* data, size_t* size) {
    Napi::MemoryManagement::AdjustExternalMemory(finalizing, -static_cast<int64_t>(*size));
    pool().give(data, *size);
    delete size;
  }, new size_t(bytes));
}

}  // namespace netdef
