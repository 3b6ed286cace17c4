# Settings every target links PRIVATE, instead of global flags.
add_library(standard_settings INTERFACE)
target_compile_features(standard_settings INTERFACE cxx_std_17)
set(CMAKE_CXX_EXTENSIONS OFF)

if(PMROBOKASSA_ENABLE_SANITIZER_ADDRESS)
    target_compile_options(standard_settings INTERFACE -fsanitize=address -fno-omit-frame-pointer)
    target_link_options(standard_settings INTERFACE -fsanitize=address)
endif()
if(PMROBOKASSA_ENABLE_SANITIZER_UNDEFINED)
    target_compile_options(standard_settings INTERFACE -fsanitize=undefined
                                                       -fno-sanitize-recover=undefined)
    target_link_options(standard_settings INTERFACE -fsanitize=undefined)
endif()

add_library(standard_warnings INTERFACE)
target_compile_options(standard_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                                   -Wno-sign-conversion -Wnon-virtual-dtor)
if(PMROBOKASSA_WARNINGS_AS_ERRORS)
    target_compile_options(standard_warnings INTERFACE -Werror)
endif()

# Every CGI request is a new process: libraries an executable does not use
# (libcurl in the CGIs, say) must not be loaded at each start.
target_link_options(standard_settings INTERFACE -Wl,--as-needed)

# Every CGI request is a new process, and binding the symbols of Boost,
# libstdc++, OpenSSL and SQLite at each start cost most of it
# (bench/results/): link the Robokassa CGIs statically against all but
# glibc. Boost goes static for every target, because one rkcore serves them all and
# Boost.Log's headers differ between its static and shared builds. Set OFF
# to link everything against the shared system libraries.
option(PMROBOKASSA_STATIC_CGI
       "Link the Robokassa CGIs statically against Boost, libstdc++, OpenSSL and SQLite" ON)
if(PMROBOKASSA_STATIC_CGI)
    set(Boost_USE_STATIC_LIBS ON)
endif()
