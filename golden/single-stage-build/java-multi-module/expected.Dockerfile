FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /build
COPY . .
RUN mvn -B package -DskipTests

FROM eclipse-temurin:17-jre
WORKDIR /build
COPY --from=build /build/app/target/app-1.0.0.jar /build/app/target/app-1.0.0.jar
CMD ["java", "-jar", "app/target/app-1.0.0.jar"]
