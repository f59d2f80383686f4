FROM gradle:8.5-jdk21-jammy AS build
COPY . /home/gradle/project
WORKDIR /home/gradle/project
RUN gradle bootJar --no-daemon

FROM eclipse-temurin:21-jre-jammy
WORKDIR /home/gradle/project
COPY --from=build /home/gradle/project/build/libs/orders-0.3.0.jar /home/gradle/project/build/libs/orders-0.3.0.jar
EXPOSE 8080
HEALTHCHECK --interval=30s CMD curl -fs http://localhost:8080/actuator/health || exit 1
ENTRYPOINT ["java", "-jar", "build/libs/orders-0.3.0.jar"]
