# Builds third_party/wasmtime (the pinned Wasmtime C API plus our shims) with
# cargo and exposes it as the imported target `mw_wasmtime`. The cargo target
# directory lives outside the checkout by default so rebuilds stay fast.
find_program(CARGO cargo HINTS $ENV{HOME}/.cargo/bin REQUIRED)

if(DEFINED ENV{MW_CARGO_TARGET_DIR})
  set(MW_CARGO_TARGET_DIR "$ENV{MW_CARGO_TARGET_DIR}" CACHE PATH "cargo target dir")
else()
  set(MW_CARGO_TARGET_DIR "$ENV{HOME}/.cache/marie-wasm/cargo-target" CACHE PATH "cargo target dir")
endif()

set(MW_WT_DIR ${CMAKE_CURRENT_SOURCE_DIR}/third_party/wasmtime)
set(MW_WT_LIB ${MW_CARGO_TARGET_DIR}/release/libmw_wasmtime.a)
set(MW_WT_INCLUDE ${MW_CARGO_TARGET_DIR}/release/include)
file(GLOB MW_WT_RS ${MW_WT_DIR}/src/*.rs)

add_custom_command(
  OUTPUT ${MW_WT_LIB}
  COMMAND ${CMAKE_COMMAND} -E env CARGO_TARGET_DIR=${MW_CARGO_TARGET_DIR}
          ${CARGO} build --release --locked --manifest-path ${MW_WT_DIR}/Cargo.toml
  DEPENDS ${MW_WT_DIR}/Cargo.toml ${MW_WT_DIR}/Cargo.lock ${MW_WT_DIR}/build.rs ${MW_WT_RS}
  COMMENT "Building the Wasmtime C API with cargo (first build takes several minutes)"
  USES_TERMINAL VERBATIM)
add_custom_target(mw_wasmtime_build DEPENDS ${MW_WT_LIB})

# The headers appear during the cargo build; the directory must exist for
# CMake to accept it as an include path.
file(MAKE_DIRECTORY ${MW_WT_INCLUDE})
add_library(mw_wasmtime STATIC IMPORTED GLOBAL)
set_target_properties(mw_wasmtime PROPERTIES
  IMPORTED_LOCATION ${MW_WT_LIB}
  INTERFACE_INCLUDE_DIRECTORIES ${MW_WT_INCLUDE}
  INTERFACE_LINK_LIBRARIES "Threads::Threads;dl;m;rt;gcc_s")
add_dependencies(mw_wasmtime mw_wasmtime_build)
