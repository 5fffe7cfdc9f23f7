# Installs the libraries and the two ways to find them: the CMake package
# (lib/cmake/wss/wssConfig.cmake with wss::wss and wss::wss_static) and lib/pkgconfig/wss.pc.
include(CMakePackageConfigHelpers)

install(FILES "${WSS_LIB_DIR}/${WSS_REAL_SO}" DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES "${WSS_LIB_DIR}/${WSS_SONAME}" "${WSS_LIB_DIR}/${_wss_so}" DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES "${WSS_LIB_DIR}/${_wss_a}" DESTINATION ${CMAKE_INSTALL_LIBDIR})

set(WSS_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/wss")
# A vendored build carries OpenSSL inside: its packages ask for no system OpenSSL.
if(WSS_VENDORED_OPENSSL)
  set(WSS_NEEDS_OPENSSL OFF)
  set(WSS_PC_REQUIRES_PRIVATE "")
else()
  set(WSS_NEEDS_OPENSSL ON)
  set(WSS_PC_REQUIRES_PRIVATE "Requires.private: openssl")
endif()
configure_package_config_file(cmake/wssConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/wssConfig.cmake"
  INSTALL_DESTINATION "${WSS_CMAKE_DIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
# SameMajorVersion: the C ABI changes only by addition within a major version.
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/wssConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/wssConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/wssConfigVersion.cmake"
  DESTINATION "${WSS_CMAKE_DIR}")

# prefix relative to the .pc file, so `cmake --install --prefix` anywhere gives a working file.
file(RELATIVE_PATH WSS_PC_PREFIX "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
configure_file(cmake/wss.pc.in "${CMAKE_CURRENT_BINARY_DIR}/wss.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/wss.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
