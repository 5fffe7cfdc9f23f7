# Runs cargo for the library and defines the imported targets wss::wss (shared) and
# wss::wss_static over its output. cargo decides what is stale, so it runs on every build (a
# no-op when nothing changed).
find_program(CARGO cargo HINTS "$ENV{HOME}/.cargo/bin" REQUIRED)

if(WSS_CARGO_PROFILE STREQUAL "dev")
  set(_wss_profile_dir debug)
else()
  set(_wss_profile_dir ${WSS_CARGO_PROFILE})
endif()
set(_wss_out "${WSS_CARGO_TARGET_DIR}/${_wss_profile_dir}")
set(_wss_so "${CMAKE_SHARED_LIBRARY_PREFIX}wss${CMAKE_SHARED_LIBRARY_SUFFIX}")
set(_wss_a "${CMAKE_STATIC_LIBRARY_PREFIX}wss${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(_wss_features "")
if(WSS_CARGO_FEATURES)
  set(_wss_features --features ${WSS_CARGO_FEATURES})
endif()

# The build tree's copy, laid out as installed: libwss.so.<version>, libwss.so.<abi> (the
# SONAME programs load) and libwss.so, so programs built here run without LD_LIBRARY_PATH.
set(WSS_LIB_DIR "${CMAKE_CURRENT_BINARY_DIR}/wss-lib")
set(WSS_REAL_SO "${_wss_so}.${PROJECT_VERSION}")
set(WSS_SONAME "${_wss_so}.${WSS_ABI_MAJOR}")
add_custom_target(wss_cargo ALL
  COMMAND ${CARGO} build --lib --profile ${WSS_CARGO_PROFILE} ${_wss_features}
          --manifest-path "${CMAKE_CURRENT_SOURCE_DIR}/Cargo.toml" --target-dir "${WSS_CARGO_TARGET_DIR}"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${WSS_LIB_DIR}"
  COMMAND ${CMAKE_COMMAND} -E copy_if_different "${_wss_out}/${_wss_so}" "${WSS_LIB_DIR}/${WSS_REAL_SO}"
  COMMAND ${CMAKE_COMMAND} -E create_symlink "${WSS_REAL_SO}" "${WSS_LIB_DIR}/${WSS_SONAME}"
  COMMAND ${CMAKE_COMMAND} -E create_symlink "${WSS_SONAME}" "${WSS_LIB_DIR}/${_wss_so}"
  COMMAND ${CMAKE_COMMAND} -E copy_if_different "${_wss_out}/${_wss_a}" "${WSS_LIB_DIR}/${_wss_a}"
  BYPRODUCTS "${WSS_LIB_DIR}/${WSS_REAL_SO}" "${WSS_LIB_DIR}/${_wss_a}"
  WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
  COMMENT "cargo build --lib (${WSS_CARGO_PROFILE})"
  USES_TERMINAL VERBATIM)

# What a program linking the static library also needs (rustc --print native-static-libs). With
# the vendored feature OpenSSL is built from source and linked into libwss (.so and .a alike).
find_package(Threads REQUIRED)
if(WSS_CARGO_FEATURES MATCHES "vendored")
  set(WSS_VENDORED_OPENSSL ON)
  set(WSS_STATIC_DEPS Threads::Threads ${CMAKE_DL_LIBS})
else()
  set(WSS_VENDORED_OPENSSL OFF)
  find_package(OpenSSL REQUIRED)
  set(WSS_STATIC_DEPS OpenSSL::SSL OpenSSL::Crypto Threads::Threads ${CMAKE_DL_LIBS})
endif()
if(UNIX AND NOT APPLE)
  list(APPEND WSS_STATIC_DEPS m rt util)
endif()

set(_wss_includes "${CMAKE_CURRENT_SOURCE_DIR}/include" "${CMAKE_CURRENT_SOURCE_DIR}/bindings/cpp/include")
add_library(wss_shared SHARED IMPORTED GLOBAL)
set_target_properties(wss_shared PROPERTIES
  IMPORTED_LOCATION "${WSS_LIB_DIR}/${WSS_REAL_SO}"
  IMPORTED_SONAME "${WSS_SONAME}"
  INTERFACE_INCLUDE_DIRECTORIES "${_wss_includes}")
add_dependencies(wss_shared wss_cargo)
add_library(wss_static STATIC IMPORTED GLOBAL)
set_target_properties(wss_static PROPERTIES
  IMPORTED_LOCATION "${WSS_LIB_DIR}/${_wss_a}"
  INTERFACE_INCLUDE_DIRECTORIES "${_wss_includes}"
  INTERFACE_LINK_LIBRARIES "${WSS_STATIC_DEPS}")
add_dependencies(wss_static wss_cargo)
add_library(wss::wss ALIAS wss_shared)
add_library(wss::wss_static ALIAS wss_static)
