# Test registration helpers: every test gets labels and a TIMEOUT so that a hang fails CI.
#   plinth_unit_test(NAME name SOURCES a.cpp ... LIBS libs... [LABELS extra] [TIMEOUT s])
#   plinth_mpi_test(NAME name TARGET exe [SOURCES a.cpp ... LIBS libs...] RANKS 2 4 [ARGS a...] [POST_ARGS a...]
#                   [FIXTURES_REQUIRED f] [LABELS extra] [TIMEOUT s])
#     -> one ctest name_np<n> per rank count: mpirun -n <n> exe ARGS... <MPIEXEC_POSTFLAGS> POST_ARGS...,
#        label mpi, PROCESSORS n, the MPI environment. SOURCES builds exe (linked with LIBS and MPI); without
#        them exe is a target defined before (one executable, several modes).
set(PLINTH_MPI_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;OMPI_MCA_btl_vader_single_copy_mechanism=none")

function(plinth_unit_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "unit;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "OMP_NUM_THREADS=1" SKIP_RETURN_CODE 77)
endfunction()

function(plinth_mpi_test)
  cmake_parse_arguments(T "" "NAME;TARGET;TIMEOUT;FIXTURES_REQUIRED" "SOURCES;LIBS;LABELS;RANKS;ARGS;POST_ARGS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  if(T_SOURCES)
    add_executable(${T_TARGET} ${T_SOURCES})
    target_link_libraries(${T_TARGET} PRIVATE ${T_LIBS} MPI::MPI_CXX)
  endif()
  set(labels mpi ${T_LABELS})
  foreach(n ${T_RANKS})
    add_test(NAME ${T_NAME}_np${n}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${T_TARGET}> ${T_ARGS}
              ${MPIEXEC_POSTFLAGS} ${T_POST_ARGS})
    set_tests_properties(${T_NAME}_np${n} PROPERTIES LABELS "${labels}" TIMEOUT ${T_TIMEOUT}
      ENVIRONMENT "${PLINTH_MPI_ENV};OMP_NUM_THREADS=1" PROCESSORS ${n})
    if(T_FIXTURES_REQUIRED)
      set_tests_properties(${T_NAME}_np${n} PROPERTIES FIXTURES_REQUIRED ${T_FIXTURES_REQUIRED})
    endif()
  endforeach()
endfunction()
