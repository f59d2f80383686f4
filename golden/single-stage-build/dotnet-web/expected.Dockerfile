FROM mcr.microsoft.com/dotnet/sdk:8.0-bookworm-slim AS build
WORKDIR /src
COPY WebApi.csproj .
RUN dotnet restore
COPY . .
RUN dotnet publish -c Release -o /app --no-restore
WORKDIR /app
ENV ASPNETCORE_ENVIRONMENT=Production DOTNET_NOLOGO=true
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1
EXPOSE 8080
ENTRYPOINT ["dotnet", "WebApi.dll"]

FROM mcr.microsoft.com/dotnet/aspnet:8.0-bookworm-slim
WORKDIR /app
ENV ASPNETCORE_ENVIRONMENT=Production DOTNET_NOLOGO=true
COPY --from=build /app /app
EXPOSE 8080
ENTRYPOINT ["dotnet", "WebApi.dll"]
